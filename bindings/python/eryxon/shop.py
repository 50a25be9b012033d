"""One tenant's shop floor as Python methods: ``store.tenant(tenant_id)``.

Every domain action and tool of the store (``Store.actions()``) becomes a
method taking keyword arguments, run on the host's own authority
(``Store.action``)::

    shop = store.tenant(tenant_id)
    cell = shop.create_cell(name="Laser", wip_limit=4)
    job = shop.create_job(job_number="JOB-1001", customer="Initech")
    print(job.id, job.status)                    # rows allow attribute access
    on_hold = shop.fetch_jobs(status="on_hold", limit=20)
    print(len(on_hold), on_hold.pagination["total"], on_hold.pagination["has_more"])

Results: a row (or any JSON object) comes back as :class:`Row`, a ``dict``
whose keys are also attributes; a listing as :class:`Page`, a ``list`` of
rows with ``.pagination`` ({offset, limit, total, has_more}). Failures raise
the status's exception with ``.result`` (see ``eryxon._errors``). Method
names and docstrings come from the catalog, so ``help(shop.create_part)``
shows the action's description and arguments; an unknown name raises
AttributeError. Thread safety: as the store.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = ["TenantShop", "Row", "Page"]


class Row(dict):
    """A JSON object from a result: a dict whose keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(super().__dir__()) + [k for k in self if isinstance(k, str)]


class Page(list):
    """The rows of a listing, with ``.pagination`` {offset, limit, total, has_more}."""

    def __init__(self, rows: List[Any], pagination: Optional[Dict[str, Any]]) -> None:
        super().__init__(rows)
        self.pagination = pagination or {}

    @property
    def total(self) -> int:
        return int(self.pagination.get("total", len(self)))

    @property
    def has_more(self) -> bool:
        return bool(self.pagination.get("has_more", False))


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Row({k: _wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _doc(tool: Dict[str, Any]) -> str:
    lines = [tool.get("description", "")]
    schema = tool.get("inputSchema", {})
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    if props:
        lines.append("")
        lines.append("Arguments:")
        for name, spec in props.items():
            kind = spec.get("type", "any")
            mark = " (required)" if name in required else ""
            lines.append(f"  {name}: {kind}{mark} - {spec.get('description', '')}")
    return "\n".join(lines)


class TenantShop:
    """The actions of one tenant of a store (see the module documentation)."""

    def __init__(self, store: Any, tenant_id: str) -> None:
        self._store = store
        self.tenant_id = tenant_id
        catalog = store.actions()
        self._tools = {t["name"]: t for t in catalog["tools"] + catalog["host_actions"]}

    def actions(self) -> List[str]:
        """The names this object answers to, sorted."""
        return sorted(self._tools)

    def __dir__(self):
        return list(super().__dir__()) + list(self._tools)

    def __getattr__(self, name: str) -> Any:
        tools = self.__dict__.get("_tools", {})
        if name not in tools:
            raise AttributeError(f"{name!r} is not an action of this store")

        def call(**arguments: Any) -> Any:
            result = self._store.action(self.tenant_id, name, arguments)
            data = _wrap(result.get("data"))
            if isinstance(data, list):
                return Page(data, result.get("pagination"))
            return data

        call.__name__ = name
        call.__doc__ = _doc(tools[name])
        return call

    def __repr__(self) -> str:
        return f"<eryxon.TenantShop {self.tenant_id} ({len(self._tools)} actions)>"
