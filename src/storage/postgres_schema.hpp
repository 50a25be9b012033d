// The PostgreSQL schema of eryxon, as an ordered list of migrations
// (postgres_storage.cpp runs them; the SQLite twin is schema.hpp).
//
// Migration i (0-based) takes a database from eryxon_schema_version.version
// i to i+1. Never edit a released migration; append a new one. PostgreSQL
// support started with the schema SQLite reached at its v8, so v1 here is
// that whole schema at once: there is no history to replay.
//
// The runner (open_postgres_storage with PostgresOptions::migrate) creates
// the bookkeeping table eryxon_schema_version itself, then applies the
// missing migrations and re-creates the application role's grants, all in
// one transaction under pg_advisory_xact_lock(kMigrationLock), so two
// processes running `eryxon init` at once neither collide nor interleave.
// Tables go to schema public (the runner sets search_path for the
// migration); the grants name schema public too.
//
// Column names, and their order, are those of tables.cpp's descriptions
// (which match SQLite's): the adapter builds every statement from them.
// Types:
//   text (strings, enums, ids, timestamps)  TEXT COLLATE "C"
//   integer                                 BIGINT
//   real                                    DOUBLE PRECISION
//   boolean                                 BOOLEAN
//   json (JSON values, string lists)        JSONB
// Timestamps and ids deliberately stay TEXT rather than TIMESTAMPTZ and
// UUID: the domain stores RFC 3339 strings with arbitrary offsets (and in a
// few fields free text it validates elsewhere), compares them as text, and
// tests and importers use ids such as "o1". Every text column is
// COLLATE "C" so that comparisons and ORDER BY are bytewise as in SQLite and
// the fake, whatever the database's default collation, and so that the
// adapter's explicit COLLATE "C" terms still match the indexes.
//
// Tenant isolation, twice:
//   * the data model: every tenant table has its key within the tenant,
//     PRIMARY KEY (tenant_id, id) (which is also the UNIQUE (tenant_id, id)
//     that composite foreign keys need), and references other rows through
//     composite foreign keys (tenant_id, x_id) -> (tenant_id, id), so a row
//     can never point at another tenant's row. Unlike SQLite, ids are unique
//     per tenant, not globally (as the tables' descriptions and the fake
//     have it): an insert can't reveal that another tenant uses an id. The
//     two lookups that must be global stay global: api_keys.key_id and
//     event_outbox.id.
//   * row-level security: every table with a tenant_id column has
//     ENABLE + FORCE ROW LEVEL SECURITY and the policy tenant_isolation,
//     which admits only rows of the tenant in the transaction-local setting
//     eryxon.tenant_id (set by the adapter right after BEGIN). Without it
//     current_setting(..., true) is NULL, or '' once the session has used
//     the setting, hence the NULLIF: nothing matches. api_keys has a second,
//     SELECT-only policy key_lookup for the one read across tenants, the
//     key lookup by key_id (setting eryxon.key_id). FORCE applies the
//     policies to the tables' owner too; only superusers and BYPASSRLS roles
//     skip them, which is why the adapter refuses to run as such a role
//     except for migrations. A later data migration that must read rows
//     therefore has to run as a superuser or set eryxon.tenant_id itself.
//
// Soft delete: cells (tenant_id, name) and jobs (tenant_id, job_number) are
// unique only among rows WHERE deleted_at IS NULL (partial unique indexes).
//
// Logs (usage_logs, activity_log, event_delivery_attempts) have a hidden
// column ord BIGSERIAL, not in their descriptions: the insertion order the
// adapter sorts by for core.hpp's kInsertionOrder (SQLite's rowid).
//
// The outbox: event_outbox is keyed (tenant_id, seq). seq comes from the row
// of outbox_counters of the tenant, incremented by the inserting
// transaction and locked by it until commit, so seqs increase in commit
// order within a tenant even with many writing processes.
#pragma once

#include <array>
#include <cstdint>

namespace eryxon::postgres_schema {

/// pg_advisory_xact_lock key the migration runner holds ("EryxonM1").
inline constexpr std::int64_t kMigrationLock = 0x457279786F6E4D31;

/// The NOTIFY channel an outbox insert signals at commit; the payload is the
/// tenant id.
inline constexpr const char* kOutboxChannel = "eryxon_outbox";

/// The runner's bookkeeping table (not a migration: it reads it first).
inline constexpr const char* kVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS eryxon_schema_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
)sql";

inline constexpr std::array<const char*, 1> kMigrations = {
    // v1: the whole schema of SQLite v8 (see the file comment).
    R"sql(
CREATE TABLE tenants (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  plan TEXT COLLATE "C" NOT NULL CHECK (plan IN ('free','pro','premium','enterprise')),
  status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active','cancelled','suspended','trial')),
  max_jobs BIGINT,
  max_parts_per_month BIGINT,
  timezone TEXT COLLATE "C" NOT NULL DEFAULT 'UTC',
  created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE cells (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  name TEXT COLLATE "C" NOT NULL,
  sequence BIGINT NOT NULL DEFAULT 0,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  color TEXT COLLATE "C",
  wip_limit BIGINT CHECK (wip_limit IS NULL OR wip_limit >= 0),
  wip_warning_threshold BIGINT,
  enforce_wip_limit BOOLEAN NOT NULL DEFAULT FALSE,
  show_capacity_warning BOOLEAN NOT NULL DEFAULT TRUE,
  capacity_hours_per_day DOUBLE PRECISION NOT NULL DEFAULT 8,
  external_id TEXT COLLATE "C",
  external_source TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  deleted_at TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX cells_tenant_name ON cells (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE jobs (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  job_number TEXT COLLATE "C" NOT NULL,
  customer TEXT COLLATE "C",
  due_date TEXT COLLATE "C",
  due_date_override TEXT COLLATE "C",
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  current_cell_id TEXT COLLATE "C",
  notes TEXT COLLATE "C",
  metadata JSONB,
  external_id TEXT COLLATE "C",
  external_source TEXT COLLATE "C",
  synced_at TEXT COLLATE "C",
  sync_hash TEXT COLLATE "C",
  started_at TEXT COLLATE "C",
  paused_at TEXT COLLATE "C",
  completed_at TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  deleted_at TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, current_cell_id) REFERENCES cells (tenant_id, id)
);
CREATE UNIQUE INDEX jobs_tenant_number ON jobs (tenant_id, job_number) WHERE deleted_at IS NULL;
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status);
CREATE INDEX jobs_tenant_completed ON jobs (tenant_id, completed_at);

CREATE TABLE parts (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  job_id TEXT COLLATE "C" NOT NULL,
  parent_part_id TEXT COLLATE "C",
  part_number TEXT COLLATE "C" NOT NULL,
  material TEXT COLLATE "C",
  quantity BIGINT NOT NULL DEFAULT 1 CHECK (quantity >= 0),
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  current_cell_id TEXT COLLATE "C",
  drawing_no TEXT COLLATE "C",
  cnc_program_name TEXT COLLATE "C",
  is_bullet_card BOOLEAN NOT NULL DEFAULT FALSE,
  material_lot TEXT COLLATE "C",
  weight_kg DOUBLE PRECISION,
  length_mm DOUBLE PRECISION,
  width_mm DOUBLE PRECISION,
  height_mm DOUBLE PRECISION,
  notes TEXT COLLATE "C",
  external_id TEXT COLLATE "C",
  external_source TEXT COLLATE "C",
  started_at TEXT COLLATE "C",
  paused_at TEXT COLLATE "C",
  completed_at TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  deleted_at TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
  FOREIGN KEY (tenant_id, parent_part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, current_cell_id) REFERENCES cells (tenant_id, id)
);
CREATE INDEX parts_tenant_job ON parts (tenant_id, job_id);
CREATE INDEX parts_tenant_status ON parts (tenant_id, status);

CREATE TABLE operations (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  part_id TEXT COLLATE "C" NOT NULL,
  cell_id TEXT COLLATE "C" NOT NULL,
  operation_name TEXT COLLATE "C" NOT NULL,
  sequence BIGINT NOT NULL DEFAULT 0,
  estimated_time DOUBLE PRECISION,
  actual_time DOUBLE PRECISION NOT NULL DEFAULT 0,
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('not_started','in_progress','completed','on_hold')),
  completion_percentage BIGINT NOT NULL DEFAULT 0
    CHECK (completion_percentage BETWEEN 0 AND 100),
  notes TEXT COLLATE "C",
  setup_time DOUBLE PRECISION,
  run_time_per_unit DOUBLE PRECISION,
  wait_time DOUBLE PRECISION,
  changeover_time DOUBLE PRECISION,
  planned_start TEXT COLLATE "C",
  planned_end TEXT COLLATE "C",
  status_before_hold TEXT COLLATE "C",
  external_id TEXT COLLATE "C",
  external_source TEXT COLLATE "C",
  started_at TEXT COLLATE "C",
  paused_at TEXT COLLATE "C",
  completed_at TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  deleted_at TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, cell_id) REFERENCES cells (tenant_id, id)
);
CREATE INDEX operations_tenant_part ON operations (tenant_id, part_id, sequence);
CREATE INDEX operations_tenant_cell_status ON operations (tenant_id, cell_id, status);
CREATE INDEX operations_tenant_status ON operations (tenant_id, status);
CREATE INDEX operations_tenant_completed ON operations (tenant_id, completed_at);

CREATE TABLE api_keys (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C",
  family TEXT COLLATE "C" NOT NULL CHECK (family IN ('mcp','rest')),
  environment TEXT COLLATE "C" NOT NULL CHECK (environment IN ('live','test')),
  key_id TEXT COLLATE "C" NOT NULL UNIQUE,
  hash_scheme TEXT COLLATE "C" NOT NULL CHECK (hash_scheme IN ('blake2b','bcrypt','sha256')),
  key_hash TEXT COLLATE "C" NOT NULL CHECK (length(key_hash) BETWEEN 1 AND 128),
  pepper_version BIGINT NOT NULL,
  allowed_tools JSONB NOT NULL,
  rate_limit BIGINT CHECK (rate_limit IS NULL OR rate_limit >= 1),
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  expires_at TEXT COLLATE "C",
  last_used_at TEXT COLLATE "C",
  usage_count BIGINT NOT NULL DEFAULT 0,
  created_by TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

-- A version number of the API key table, bumped by triggers on every change
-- that validation depends on (not on usage counts: usage_count and
-- last_used_at are left out of the UPDATE OF list), exactly like SQLite's
-- v4. KeyService polls it to drop cached records another process changed.
-- The trigger function runs as the invoking role: the application role
-- updates api_keys_version through its table grants. Global, so no RLS.
CREATE TABLE api_keys_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO api_keys_version (id, version) VALUES (1, 1);
CREATE FUNCTION eryxon_bump_api_keys_version() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
  UPDATE public.api_keys_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER api_keys_version_on_insert AFTER INSERT ON api_keys
  FOR EACH ROW EXECUTE FUNCTION eryxon_bump_api_keys_version();
CREATE TRIGGER api_keys_version_on_delete AFTER DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION eryxon_bump_api_keys_version();
CREATE TRIGGER api_keys_version_on_update
  AFTER UPDATE OF id, tenant_id, name, description, family, environment, key_id, hash_scheme,
    key_hash, pepper_version, allowed_tools, rate_limit, enabled, expires_at, created_by,
    created_at ON api_keys
  FOR EACH ROW EXECUTE FUNCTION eryxon_bump_api_keys_version();

CREATE TABLE quota_usage (
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  day TEXT COLLATE "C" NOT NULL,
  used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (tenant_id, day)
);

-- Append-only; key_row_id is deliberately not a foreign key: a deleted
-- key's history stays. ord: insertion order (see the file comment).
CREATE TABLE usage_logs (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  key_row_id TEXT COLLATE "C",
  key_family TEXT COLLATE "C" NOT NULL CHECK (key_family IN ('mcp','rest')),
  tool TEXT COLLATE "C" NOT NULL,
  arguments JSONB,
  success BOOLEAN NOT NULL,
  error_code TEXT COLLATE "C",
  error_message TEXT COLLATE "C",
  response_time_ms DOUBLE PRECISION NOT NULL CHECK (response_time_ms >= 0),
  client_name TEXT COLLATE "C",
  client_version TEXT COLLATE "C",
  ip_address TEXT COLLATE "C",
  user_agent TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  ord BIGSERIAL NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX usage_logs_tenant_key_time ON usage_logs (tenant_id, key_row_id, created_at);
CREATE INDEX usage_logs_tenant_time ON usage_logs (tenant_id, created_at);

CREATE TABLE activity_log (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  action TEXT COLLATE "C" NOT NULL,
  entity_type TEXT COLLATE "C" NOT NULL,
  entity_id TEXT COLLATE "C" NOT NULL,
  actor_type TEXT COLLATE "C",
  actor_id TEXT COLLATE "C",
  description TEXT COLLATE "C",
  details JSONB,
  ip_address TEXT COLLATE "C",
  user_agent TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  ord BIGSERIAL NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX activity_log_tenant_time ON activity_log (tenant_id, created_at);

-- The transactional outbox and its per-tenant seq counters.
CREATE TABLE outbox_counters (
  tenant_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants(id),
  last_seq BIGINT NOT NULL
);

CREATE TABLE event_outbox (
  seq BIGINT NOT NULL CHECK (seq >= 1),
  id TEXT COLLATE "C" NOT NULL UNIQUE,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  name TEXT COLLATE "C" NOT NULL,
  entity_type TEXT COLLATE "C" NOT NULL,
  entity_id TEXT COLLATE "C" NOT NULL,
  cell_name TEXT COLLATE "C" NOT NULL DEFAULT '',
  data JSONB NOT NULL,
  occurred_at TEXT COLLATE "C" NOT NULL,
  occurred_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE event_endpoints (
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT COLLATE "C" NOT NULL,
  cursor_seq BIGINT NOT NULL DEFAULT 0,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  disabled_reason TEXT COLLATE "C",
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, endpoint_id)
);

CREATE TABLE event_deliveries (
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  event_id TEXT COLLATE "C" NOT NULL,
  event_name TEXT COLLATE "C" NOT NULL,
  entity_key TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending','delivered','dead')),
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  last_http_status BIGINT,
  last_error TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, endpoint_id, seq)
);
CREATE INDEX event_deliveries_status ON event_deliveries (tenant_id, endpoint_id, status, seq);

CREATE TABLE event_delivery_attempts (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  endpoint_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  event_id TEXT COLLATE "C" NOT NULL,
  attempt BIGINT NOT NULL,
  outcome TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('delivered','retry','gone','failed')),
  http_status BIGINT,
  detail TEXT COLLATE "C" NOT NULL,
  duration_ms DOUBLE PRECISION NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  ord BIGSERIAL NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX event_delivery_attempts_endpoint
  ON event_delivery_attempts (tenant_id, endpoint_id, created_at);

-- The rest of the domain model (SQLite v6). Only issues are soft-deleted.
CREATE TABLE resources (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  name TEXT COLLATE "C" NOT NULL,
  type TEXT COLLATE "C" NOT NULL,
  identifier TEXT COLLATE "C",
  location TEXT COLLATE "C",
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('available','in_use','maintenance','unavailable')),
  active BOOLEAN NOT NULL DEFAULT TRUE,
  notes TEXT COLLATE "C",
  external_id TEXT COLLATE "C",
  external_source TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX resources_tenant_name ON resources (tenant_id, name);

CREATE TABLE operation_resources (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C" NOT NULL,
  resource_id TEXT COLLATE "C" NOT NULL,
  quantity BIGINT NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  notes TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, operation_id, resource_id),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id)
);
CREATE INDEX operation_resources_resource ON operation_resources (tenant_id, resource_id);

CREATE TABLE issues (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C" NOT NULL,
  title TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C",
  severity TEXT COLLATE "C" NOT NULL CHECK (severity IN ('low','medium','high','critical')),
  status TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending','approved','rejected','closed')),
  issue_type TEXT COLLATE "C" NOT NULL CHECK (issue_type IN ('general','ncr')),
  ncr_category TEXT COLLATE "C" CHECK (ncr_category IS NULL OR ncr_category IN
    ('material_defect','dimensional','surface_finish','process_error','other')),
  disposition TEXT COLLATE "C" CHECK (disposition IS NULL OR disposition IN
    ('use_as_is','rework','scrap','return_to_supplier')),
  root_cause TEXT COLLATE "C",
  corrective_action TEXT COLLATE "C",
  preventive_action TEXT COLLATE "C",
  affected_quantity BIGINT CHECK (affected_quantity IS NULL OR affected_quantity >= 0),
  causes_standstill BOOLEAN NOT NULL DEFAULT FALSE,
  resolution_notes TEXT COLLATE "C",
  reported_by TEXT COLLATE "C",
  resolved_at TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  deleted_at TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id),
  CHECK ((issue_type = 'ncr') = (ncr_category IS NOT NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX issues_tenant_operation ON issues (tenant_id, operation_id, status);
CREATE INDEX issues_tenant_status ON issues (tenant_id, status);

CREATE TABLE substeps (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  sequence BIGINT NOT NULL DEFAULT 0,
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('not_started','in_progress','completed','blocked')),
  notes TEXT COLLATE "C",
  completed_at TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX substeps_tenant_operation ON substeps (tenant_id, operation_id, sequence);

CREATE TABLE scrap_reasons (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  code TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C" NOT NULL,
  category TEXT COLLATE "C" NOT NULL CHECK (category IN
    ('material','process','equipment','operator','design','other')),
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code)
);

CREATE TABLE operation_quantities (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C" NOT NULL,
  quantity_produced BIGINT NOT NULL,
  quantity_good BIGINT NOT NULL CHECK (quantity_good >= 0),
  quantity_scrap BIGINT NOT NULL CHECK (quantity_scrap >= 0),
  quantity_rework BIGINT NOT NULL CHECK (quantity_rework >= 0),
  scrap_reason_id TEXT COLLATE "C",
  notes TEXT COLLATE "C",
  recorded_by TEXT COLLATE "C",
  recorded_at TEXT COLLATE "C" NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CHECK (quantity_produced = quantity_good + quantity_scrap + quantity_rework),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, scrap_reason_id) REFERENCES scrap_reasons (tenant_id, id)
);
CREATE INDEX operation_quantities_operation ON operation_quantities (tenant_id, operation_id);
CREATE INDEX operation_quantities_time ON operation_quantities (tenant_id, recorded_at);

CREATE TABLE time_entries (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C" NOT NULL,
  operator_id TEXT COLLATE "C" NOT NULL,
  time_type TEXT COLLATE "C" NOT NULL
    CHECK (time_type IN ('setup','run','rework','wait','breakdown')),
  start_time TEXT COLLATE "C" NOT NULL,
  end_time TEXT COLLATE "C",
  duration DOUBLE PRECISION CHECK (duration IS NULL OR duration >= 0),
  pauses JSONB,
  notes TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CHECK ((end_time IS NULL) = (duration IS NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id)
);
CREATE INDEX time_entries_operation ON time_entries (tenant_id, operation_id, start_time);
CREATE INDEX time_entries_operator ON time_entries (tenant_id, operator_id, start_time);

CREATE TABLE assignments (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  operation_id TEXT COLLATE "C",
  part_id TEXT COLLATE "C",
  operator_id TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL
    CHECK (status IN ('assigned','in_progress','completed','cancelled')),
  notes TEXT COLLATE "C",
  assigned_at TEXT COLLATE "C" NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CHECK ((operation_id IS NULL) <> (part_id IS NULL)),
  FOREIGN KEY (tenant_id, operation_id) REFERENCES operations (tenant_id, id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id)
);
CREATE INDEX assignments_operator ON assignments (tenant_id, operator_id, status);

-- Leases (TenantTx::try_lease): which dispatcher serves an endpoint now, so
-- two dispatchers on one database never deliver the same event at the same
-- time; a crashed holder's lease expires (SQLite v8).
CREATE TABLE event_leases (
  tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
  name TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  expires_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

-- Row-level security on every table with a tenant_id column.
DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
      'cells', 'jobs', 'parts', 'operations', 'api_keys', 'quota_usage', 'usage_logs',
      'activity_log', 'outbox_counters', 'event_outbox', 'event_endpoints',
      'event_deliveries', 'event_delivery_attempts', 'resources', 'operation_resources',
      'issues', 'substeps', 'scrap_reasons', 'operation_quantities', 'time_entries',
      'assignments', 'event_leases'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %I '
        'USING (tenant_id = NULLIF(current_setting(''eryxon.tenant_id'', true), '''')) '
        'WITH CHECK (tenant_id = NULLIF(current_setting(''eryxon.tenant_id'', true), ''''))',
        t);
  END LOOP;
END
$rls$;
CREATE POLICY key_lookup ON api_keys FOR SELECT
  USING (key_id = NULLIF(current_setting('eryxon.key_id', true), ''));
)sql",
};

}  // namespace eryxon::postgres_schema
