// The SQLite schema of eryxon, as an ordered list of migrations.
//
// Migration i (0-based) takes a database from PRAGMA user_version i to i+1.
// Never edit a released migration; append a new one. Column lists must match
// the describe() functions of the row types (model.hpp, storage.hpp): the
// adapter builds its INSERT/UPDATE/SELECT statements from those.
//
// Tenant isolation in the schema: every tenant-owned table has
// UNIQUE (tenant_id, id) and references other rows through composite foreign
// keys on (tenant_id, <ref>_id), so a row can never point at another
// tenant's row, whatever the code above does.
#pragma once

#include <array>

namespace eryxon::sqlite_schema {

inline constexpr std::array<const char*, 8> kMigrations = {
    // v1: tenants, cells, jobs, parts, operations, API keys (MCP and REST).
    R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  plan TEXT NOT NULL CHECK (plan IN ('free','pro','premium','enterprise')),
  status TEXT NOT NULL CHECK (status IN ('active','cancelled','suspended','trial')),
  max_jobs INTEGER,
  max_parts_per_month INTEGER,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  created_at TEXT NOT NULL
);

CREATE TABLE cells (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  sequence INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  color TEXT,
  wip_limit INTEGER CHECK (wip_limit IS NULL OR wip_limit >= 0),
  wip_warning_threshold INTEGER,
  enforce_wip_limit INTEGER NOT NULL DEFAULT 0,
  show_capacity_warning INTEGER NOT NULL DEFAULT 1,
  capacity_hours_per_day REAL NOT NULL DEFAULT 8,
  external_id TEXT,
  external_source TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX cells_tenant_name ON cells (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  job_number TEXT NOT NULL,
  customer TEXT,
  due_date TEXT,
  due_date_override TEXT,
  status TEXT NOT NULL CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  current_cell_id TEXT,
  notes TEXT,
  metadata TEXT,
  external_id TEXT,
  external_source TEXT,
  synced_at TEXT,
  sync_hash TEXT,
  started_at TEXT,
  paused_at TEXT,
  completed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, current_cell_id) REFERENCES cells (tenant_id, id)
);
CREATE UNIQUE INDEX jobs_tenant_number ON jobs (tenant_id, job_number) WHERE deleted_at IS NULL;
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status);

CREATE TABLE parts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  job_id TEXT NOT NULL,
  parent_part_id TEXT,
  part_number TEXT NOT NULL,
  material TEXT,
  quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0),
  status TEXT NOT NULL CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  current_cell_id TEXT,
  drawing_no TEXT,
  cnc_program_name TEXT,
  is_bullet_card INTEGER NOT NULL DEFAULT 0,
  material_lot TEXT,
  weight_kg REAL,
  length_mm REAL,
  width_mm REAL,
  height_mm REAL,
  notes TEXT,
  external_id TEXT,
  external_source TEXT,
  started_at TEXT,
  paused_at TEXT,
  completed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
  FOREIGN KEY (tenant_id, parent_part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, current_cell_id) REFERENCES cells (tenant_id, id)
);
CREATE INDEX parts_tenant_job ON parts (tenant_id, job_id);
CREATE INDEX parts_tenant_status ON parts (tenant_id, status);

CREATE TABLE operations (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  part_id TEXT NOT NULL,
  cell_id TEXT NOT NULL,
  operation_name TEXT NOT NULL,
  sequence INTEGER NOT NULL DEFAULT 0,
  estimated_time REAL,
  actual_time REAL NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  completion_percentage INTEGER NOT NULL DEFAULT 0
    CHECK (completion_percentage BETWEEN 0 AND 100),
  notes TEXT,
  setup_time REAL,
  run_time_per_unit REAL,
  wait_time REAL,
  changeover_time REAL,
  planned_start TEXT,
  planned_end TEXT,
  status_before_hold TEXT,
  external_id TEXT,
  external_source TEXT,
  started_at TEXT,
  paused_at TEXT,
  completed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, cell_id) REFERENCES cells (tenant_id, id)
);
CREATE INDEX operations_tenant_part ON operations (tenant_id, part_id, sequence);
CREATE INDEX operations_tenant_cell_status ON operations (tenant_id, cell_id, status);
CREATE INDEX operations_tenant_status ON operations (tenant_id, status);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  description TEXT,
  family TEXT NOT NULL CHECK (family IN ('mcp','rest')),
  environment TEXT NOT NULL CHECK (environment IN ('live','test')),
  key_id TEXT NOT NULL UNIQUE,
  hash_scheme TEXT NOT NULL CHECK (hash_scheme IN ('blake2b','bcrypt','sha256')),
  key_hash TEXT NOT NULL CHECK (length(key_hash) BETWEEN 1 AND 128),
  pepper_version INTEGER NOT NULL,
  allowed_tools TEXT NOT NULL,
  rate_limit INTEGER CHECK (rate_limit IS NULL OR rate_limit >= 1),
  enabled INTEGER NOT NULL DEFAULT 1,
  expires_at TEXT,
  last_used_at TEXT,
  usage_count INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);
)sql",
    // v2: plan quota counters per tenant and local calendar day.
    R"sql(
CREATE TABLE quota_usage (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  day TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (tenant_id, day)
) WITHOUT ROWID;
)sql",
    // v3: usage logs of API keys and the unified activity log (AuditLog).
    // Append-only; ids are time-ordered UUIDs, so the primary-key index
    // grows at its end. key_row_id is deliberately not a foreign key: a
    // deleted key's history stays.
    R"sql(
CREATE TABLE usage_logs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  key_row_id TEXT,
  key_family TEXT NOT NULL CHECK (key_family IN ('mcp','rest')),
  tool TEXT NOT NULL,
  arguments TEXT,
  success INTEGER NOT NULL CHECK (success IN (0,1)),
  error_code TEXT,
  error_message TEXT,
  response_time_ms REAL NOT NULL CHECK (response_time_ms >= 0),
  client_name TEXT,
  client_version TEXT,
  ip_address TEXT,
  user_agent TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX usage_logs_tenant_key_time ON usage_logs (tenant_id, key_row_id, created_at);
CREATE INDEX usage_logs_tenant_time ON usage_logs (tenant_id, created_at);

CREATE TABLE activity_log (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  action TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  actor_type TEXT,
  actor_id TEXT,
  description TEXT,
  details TEXT,
  ip_address TEXT,
  user_agent TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX activity_log_tenant_time ON activity_log (tenant_id, created_at);
)sql",
    // v4: a version number of the API key table, bumped by triggers on every
    // change that validation depends on (not on usage counts). KeyService
    // polls it so that a key changed by another process (the CLI disabling a
    // key while a server runs) drops that server's cached records, instead
    // of re-reading every cached record when its TTL runs out.
    R"sql(
CREATE TABLE api_keys_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO api_keys_version (id, version) VALUES (1, 1);
CREATE TRIGGER api_keys_version_on_insert AFTER INSERT ON api_keys
BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_keys_version_on_delete AFTER DELETE ON api_keys
BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_keys_version_on_update
AFTER UPDATE OF id, tenant_id, name, description, family, environment, key_id, hash_scheme,
  key_hash, pepper_version, allowed_tools, rate_limit, enabled, expires_at, created_by,
  created_at ON api_keys
BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
)sql",
    // v5: the transactional outbox of domain events and the dispatcher's
    // delivery state. seq is AUTOINCREMENT: never reused, increasing in
    // commit order (writers are serialised by BEGIN IMMEDIATE). Delivery
    // rows are tenant-scoped like everything else.
    R"sql(
CREATE TABLE event_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  cell_name TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  occurred_at_ms INTEGER NOT NULL
);
CREATE INDEX event_outbox_tenant_seq ON event_outbox (tenant_id, seq);

CREATE TABLE event_endpoints (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT NOT NULL,
  cursor_seq INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0,1)),
  disabled_reason TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, endpoint_id)
) WITHOUT ROWID;

CREATE TABLE event_deliveries (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_http_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, endpoint_id, seq)
) WITHOUT ROWID;
CREATE INDEX event_deliveries_status ON event_deliveries (tenant_id, endpoint_id, status, seq);

CREATE TABLE event_delivery_attempts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('delivered','retry','gone','failed')),
  http_status INTEGER,
  detail TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX event_delivery_attempts_endpoint ON event_delivery_attempts (tenant_id, endpoint_id, created_at);
)sql",
    // v6: the rest of the domain model (SPEC.md "Domain model"): resources
    // and their assignment to operations, issues and NCRs, substeps, scrap
    // reasons, production quantities, time entries and assignments of work
    // to operators. Same isolation scheme as v1: UNIQUE (tenant_id, id) and
    // composite foreign keys. Only issues are soft-deleted.
    R"sql(
CREATE TABLE resources (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  identifier TEXT,
  location TEXT,
  status TEXT NOT NULL CHECK (status IN ('available','in_use','maintenance','unavailable')),
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
  notes TEXT,
  external_id TEXT,
  external_source TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, id)
);
CREATE INDEX resources_tenant_name ON resources (tenant_id, name);

CREATE TABLE operation_resources (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  notes TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, operation_id, resource_id),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id)
);
CREATE INDEX operation_resources_resource ON operation_resources (tenant_id, resource_id);

CREATE TABLE issues (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT,
  severity TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
  status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected','closed')),
  issue_type TEXT NOT NULL CHECK (issue_type IN ('general','ncr')),
  ncr_category TEXT CHECK (ncr_category IS NULL OR ncr_category IN
    ('material_defect','dimensional','surface_finish','process_error','other')),
  disposition TEXT CHECK (disposition IS NULL OR disposition IN
    ('use_as_is','rework','scrap','return_to_supplier')),
  root_cause TEXT,
  corrective_action TEXT,
  preventive_action TEXT,
  affected_quantity INTEGER CHECK (affected_quantity IS NULL OR affected_quantity >= 0),
  causes_standstill INTEGER NOT NULL DEFAULT 0 CHECK (causes_standstill IN (0,1)),
  resolution_notes TEXT,
  reported_by TEXT,
  resolved_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  UNIQUE (tenant_id, id),
  CHECK ((issue_type = 'ncr') = (ncr_category IS NOT NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX issues_tenant_operation ON issues (tenant_id, operation_id, status);
CREATE INDEX issues_tenant_status ON issues (tenant_id, status);

CREATE TABLE substeps (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT NOT NULL,
  name TEXT NOT NULL,
  sequence INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('not_started','in_progress','completed','blocked')),
  notes TEXT,
  completed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX substeps_tenant_operation ON substeps (tenant_id, operation_id, sequence);

CREATE TABLE scrap_reasons (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  code TEXT NOT NULL,
  description TEXT NOT NULL,
  category TEXT NOT NULL CHECK (category IN
    ('material','process','equipment','operator','design','other')),
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, code)
);

CREATE TABLE operation_quantities (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT NOT NULL,
  quantity_produced INTEGER NOT NULL,
  quantity_good INTEGER NOT NULL CHECK (quantity_good >= 0),
  quantity_scrap INTEGER NOT NULL CHECK (quantity_scrap >= 0),
  quantity_rework INTEGER NOT NULL CHECK (quantity_rework >= 0),
  scrap_reason_id TEXT,
  notes TEXT,
  recorded_by TEXT,
  recorded_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  CHECK (quantity_produced = quantity_good + quantity_scrap + quantity_rework),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, scrap_reason_id) REFERENCES scrap_reasons (tenant_id, id)
);
CREATE INDEX operation_quantities_operation ON operation_quantities (tenant_id, operation_id);
CREATE INDEX operation_quantities_time ON operation_quantities (tenant_id, recorded_at);

CREATE TABLE time_entries (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT NOT NULL,
  operator_id TEXT NOT NULL,
  time_type TEXT NOT NULL CHECK (time_type IN ('setup','run','rework','wait','breakdown')),
  start_time TEXT NOT NULL,
  end_time TEXT,
  duration REAL CHECK (duration IS NULL OR duration >= 0),
  pauses TEXT,
  notes TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  CHECK ((end_time IS NULL) = (duration IS NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX time_entries_operation ON time_entries (tenant_id, operation_id, start_time);
CREATE INDEX time_entries_operator ON time_entries (tenant_id, operator_id, start_time);

CREATE TABLE assignments (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operation_id TEXT,
  part_id TEXT,
  operator_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('assigned','in_progress','completed','cancelled')),
  notes TEXT,
  assigned_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, id),
  CHECK ((operation_id IS NULL) <> (part_id IS NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id)
);
CREATE INDEX assignments_operator ON assignments (tenant_id, operator_id, status);

CREATE INDEX jobs_tenant_completed ON jobs (tenant_id, completed_at);
CREATE INDEX operations_tenant_completed ON operations (tenant_id, completed_at);
)sql",
    // v7: key uses are stored once, in usage_logs; AuditLog shows them in
    // the activity log when read (activity_of). The copies v3-v6 wrote into
    // activity_log (only AuditLog wrote those actions) go, or they would
    // appear twice.
    R"sql(
DELETE FROM activity_log
 WHERE actor_type = 'api_key'
   AND action IN ('mcp_execute','mcp_error','rest_request','rest_error');
)sql",
    // v8: leases (TenantTx::try_lease): which dispatcher serves an endpoint
    // now, so two dispatchers on one database never deliver the same event
    // at the same time; a crashed holder's lease expires.
    R"sql(
CREATE TABLE event_leases (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;
)sql",
};

}  // namespace eryxon::sqlite_schema
