#!/usr/bin/env python3
"""Writes the C API reference (docs/c-api.md) from include/eryxon/eryxon.h.

The header is the source of truth: each declaration's doc comment is copied
with the declaration itself, in header order, under the header's section
banners. Usage: scripts/c-api-doc.py [HEADER] > docs/c-api.md
(the test docs.c_api_reference compares the file with this output).
"""

import re
import sys

header = sys.argv[1] if len(sys.argv) > 1 else "include/eryxon/eryxon.h"
text = open(header, encoding="utf-8").read()

# The conventions: the file's first comment.
first = re.match(r"\s*/\*(.*?)\*/", text, re.S)
conventions = []
if first:
    for line in first.group(1).splitlines():
        conventions.append(re.sub(r"^\s?\*\s?", "", line).rstrip())

out = [
    "# C API reference",
    "",
    "Generated from `include/eryxon/eryxon.h` by `scripts/c-api-doc.py`; do not edit by hand",
    "(the test `docs.c_api_reference` compares this file with the script's output). The",
    "header is the source of truth.",
    "",
    "## Conventions",
    "",
    "```text",
    *[line for line in conventions if line.strip() or True],
    "```",
    "",
    "## Core",
    "",
]

# Walk the rest: section banners, doc comments and the declaration after each.
body = text[first.end():] if first else text
token = re.compile(
    r"/\* -{10,}\n \* (?P<section>.*?)\n \* -{10,} \*/"  # a section banner
    r"|/\*\*(?P<doc>.*?)\*/\s*(?P<decl>(?:#define[^\n]*|typedef[^;{]*(?:\{.*?\}[^;]*)?;|ERYXON_EXPORT[^;]*;))",
    re.S,
)
for m in token.finditer(body):
    if m.group("section"):
        out += [f"## {m.group('section').strip()}", ""]
        continue
    doc_lines = [re.sub(r"^\s*\*?\s?", "", l).rstrip() for l in m.group("doc").splitlines()]
    doc = "\n".join(l for l in doc_lines).strip()
    decl = m.group("decl").replace("ERYXON_EXPORT ", "").strip()
    flat = re.sub(r"\s+", " ", decl)
    name = (re.search(r"\(\s*\*\s*(eryxon_[a-z0-9_]+)\s*\)", flat)  # a function pointer type
            or re.search(r"(eryxon_[a-z0-9_]+)\s*\(", flat)  # a function
            or re.search(r"(eryxon_[a-z0-9_]+|ERYXON_[A-Z0-9_]+)\s*(?:;|$| )", flat))
    title = name.group(1) if name else decl.split()[1]
    out += [f"### `{title}`", "", "```c", decl, "```", "", doc, ""]

sys.stdout.write("\n".join(out).rstrip() + "\n")
