// End-to-end tests of `eryxon mcp serve` through the official MCP TypeScript
// SDK (Client + StdioClientTransport, and StreamableHTTPClientTransport
// against `eryxon mcp serve --http`) and over raw stdio.
//
// Run from clients/ts:
//   ERYXON_BIN=/path/to/eryxon ERYXON_TEST_DIR=/tmp/e2e node --test test/
//
// Env:
//   ERYXON_BIN       path to the eryxon binary (default: ../../build/dev/bin/eryxon
//                    relative to clients/ts, when it exists)
//   ERYXON_TEST_DIR  scratch directory for DB files (created; default: a
//                    fresh directory under the OS temp dir)
//
// Every test makes its own database with the CLI (init, tenant create,
// seed-demo, key create) under a per-run unique file name, and every test
// is bounded by a timeout.
//
// The MCP key travels per call as params._meta.apiKey. The SDK's
// Client.callTool(params) sends `params` as given (Protocol.request spreads
// it into the JSON-RPC message and only adds to _meta when progress or task
// options are used), so `_meta: { apiKey }` reaches the wire unchanged; the
// _meta test below checks the written message to prove it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  EmptyResultSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function resolveBin() {
  const fromEnv = process.env.ERYXON_BIN;
  const bin = fromEnv ? path.resolve(fromEnv) : path.resolve(here, '../../../build/dev/bin/eryxon');
  if (!fs.existsSync(bin)) {
    throw new Error(
      `eryxon binary not found at ${bin}: build it or set ERYXON_BIN to its path`,
    );
  }
  return bin;
}

const BIN = resolveBin();
const TEST_DIR = path.resolve(
  process.env.ERYXON_TEST_DIR || path.join(os.tmpdir(), `eryxon-e2e-${process.pid}`),
);
fs.mkdirSync(TEST_DIR, { recursive: true });

/** Timeouts (ms). */
const CLI_TIMEOUT = 30_000;
const TEST_TIMEOUT = 60_000;
const REQUEST_TIMEOUT = 15_000;

const ALL_TOOLS = [
  'fetch_jobs',
  'create_job',
  'update_job',
  'start_job',
  'stop_job',
  'resume_job',
  'complete_job',
  'fetch_parts',
  'update_part',
  'fetch_operations',
  'start_operation',
  'pause_operation',
  'resume_operation',
  'update_operation',
  'complete_operation',
  'get_dashboard_stats',
  'fetch_issues',
  'create_ncr',
  'fetch_ncrs',
  'update_issue',
  'get_issue_analytics',
  'get_issue_trends',
  'get_root_cause_analysis',
  'suggest_quality_improvements',
  'fetch_substeps',
  'add_substep',
  'complete_substep',
  'update_substep',
  'delete_substep',
  'fetch_scrap_reasons',
  'report_scrap',
  'get_scrap_analytics',
  'get_scrap_trends',
  'get_yield_metrics',
  'get_scrap_pareto',
  'get_quality_score',
  'get_qrm_data',
  'get_production_metrics',
  'fetch_tasks',
  'update_task',
  'check_resource_availability',
  'assign_resource_to_operations',
  'get_cell_capacity',
  'batch_update_parts',
  'batch_reschedule_operations',
  'prioritize_job',
  'fetch_parts_by_customer',
  'batch_complete_operations',
  'get_job_overview',
  'get_parts_due_soon',
  'suggest_reschedule',
];

const runId = `${Date.now().toString(36)}-${process.pid}-${randomBytes(3).toString('hex')}`;
let dbCounter = 0;

/** A DB path unique to this run and call; never exists yet. */
function freshDbPath(label = 'db') {
  dbCounter += 1;
  return path.join(TEST_DIR, `${label}-${runId}-${dbCounter}.db`);
}

/** Environment the server needs besides the SDK's default whitelist. */
function passThroughEnv() {
  const env = {};
  // Keys are hashed with a pepper; if the CLI used ERYXON_PEPPER, the server
  // must see the same one.
  if (process.env.ERYXON_PEPPER) env.ERYXON_PEPPER = process.env.ERYXON_PEPPER;
  return env;
}

/** Runs `eryxon ARGS...`, returns trimmed stdout; throws with stderr on failure. */
function cli(args) {
  // The key must never come from the developer's shell.
  const env = { ...process.env };
  delete env.ERYXON_MCP_KEY;
  try {
    return execFileSync(BIN, args, {
      encoding: 'utf8',
      timeout: CLI_TIMEOUT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    }).trim();
  } catch (err) {
    const stderr = err.stderr ? String(err.stderr).trim() : '';
    throw new Error(
      `eryxon ${args[0]} ${args[1] ?? ''} failed (status ${err.status}, signal ${err.signal}): ${stderr || err.message}`,
    );
  }
}

function createTenant(db, name) {
  const id = cli(['tenant', 'create', '--db', db, '--name', name]);
  if (!id || /\s/.test(id)) throw new Error(`tenant create printed ${JSON.stringify(id)}`);
  return id;
}

function createKey(db, tenant, name, { tools = '*', env } = {}) {
  const args = ['key', 'create', '--db', db, '--tenant', tenant, '--name', name, '--tools', tools];
  if (env) args.push('--env', env);
  const key = cli(args);
  if (!key || /\s/.test(key)) throw new Error('key create did not print a single key');
  return key;
}

/**
 * A fresh database: init, one tenant, the demo seed, and a '*' key.
 * Returns { db, tenant, key }.
 */
function makeShop({ label = 'shop', seed = true } = {}) {
  const db = freshDbPath(label);
  cli(['init', '--db', db]);
  const tenant = createTenant(db, `Tenant ${label} ${runId}`);
  if (seed) cli(['seed-demo', '--db', db, '--tenant', tenant]);
  const key = createKey(db, tenant, `all-${label}`);
  return { db, tenant, key };
}

/**
 * Connects an SDK Client to `eryxon mcp serve --db DB`.
 * Options: envKey - passed as ERYXON_MCP_KEY to the server; serveArgs -
 * extra `mcp serve` options (e.g. ['--page-size', '4']).
 * Returns { client, transport, negotiatedVersion(), sent, stderr(), close() }.
 * `sent` records every JSON-RPC message the client wrote (to check the wire).
 */
async function connect(db, { envKey, serveArgs = [] } = {}) {
  const env = passThroughEnv();
  if (envKey !== undefined) env.ERYXON_MCP_KEY = envKey;
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', 'serve', '--db', db, ...serveArgs],
    env,
    stderr: 'pipe',
  });
  let stderrText = '';
  transport.stderr?.on('data', (chunk) => {
    stderrText += chunk.toString();
  });
  // The SDK tells a transport the negotiated version via setProtocolVersion
  // (used by HTTP transports); the stdio transport has none, so we add one.
  let negotiated;
  transport.setProtocolVersion = (v) => {
    negotiated = v;
  };
  const sent = [];
  const origSend = transport.send.bind(transport);
  transport.send = (message, options) => {
    sent.push(structuredClone(message));
    return origSend(message, options);
  };
  const client = new Client({ name: 'eryxon-e2e', version: '0.1.0' });
  await client.connect(transport, { timeout: REQUEST_TIMEOUT });
  return {
    client,
    transport,
    sent,
    negotiatedVersion: () => negotiated,
    stderr: () => stderrText,
    close: () => client.close(),
  };
}

/** tools/call through the SDK with the key in params._meta.apiKey. */
function callTool(client, name, args = {}, key) {
  const params = { name, arguments: args };
  if (key !== undefined) params._meta = { apiKey: key };
  return client.callTool(params, undefined, { timeout: REQUEST_TIMEOUT });
}

/**
 * Checks the common result shape (structuredContent + identical JSON text)
 * and returns structuredContent.
 */
function envelope(result) {
  assert.ok(Array.isArray(result.content), 'content is an array');
  assert.ok(result.content.length >= 1, 'content has an item');
  assert.equal(result.content[0].type, 'text');
  assert.equal(typeof result.structuredContent, 'object');
  assert.notEqual(result.structuredContent, null);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent,
    'content[0].text parses to structuredContent');
  return result.structuredContent;
}

/** A successful tool result: returns structuredContent. */
function ok(result) {
  const sc = envelope(result);
  assert.notEqual(result.isError, true, `unexpected tool error: ${result.content[0].text}`);
  assert.equal(sc.success, true);
  assert.ok('data' in sc, 'success result has data');
  return sc;
}

/** A tool error result with `code`: returns structuredContent.error. */
function toolError(result, code) {
  const sc = envelope(result);
  assert.equal(result.isError, true, `expected isError, got ${result.content[0].text}`);
  assert.equal(sc.success, false);
  assert.equal(typeof sc.error, 'object');
  assert.equal(sc.error.code, code, `error code (message: ${sc.error.message})`);
  assert.equal(typeof sc.error.message, 'string');
  return sc.error;
}

/** The rows of a fetch_* result's data (an array, or {jobs|parts|operations|items:[...]}). */
function rows(data) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object') {
    for (const k of ['items', 'jobs', 'parts', 'operations']) {
      if (Array.isArray(data[k])) return data[k];
    }
  }
  throw new Error(`cannot find rows in data: ${JSON.stringify(data).slice(0, 200)}`);
}

/** The single row of a start_/complete_/create_ result's data ({...} or {job:{...}}). */
function row(data, kind) {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    if (typeof data.id === 'string') return data;
    if (data[kind] && typeof data[kind] === 'object') return data[kind];
  }
  throw new Error(`cannot find the ${kind} in data: ${JSON.stringify(data).slice(0, 200)}`);
}

/**
 * The argument name that carries the row id for a tool, read from its
 * inputSchema: "id" if declared, else the one required "*_id" property.
 */
function idArg(tool) {
  const props = tool.inputSchema.properties ?? {};
  if ('id' in props) return 'id';
  const required = tool.inputSchema.required ?? [];
  const ids = required.filter((p) => p.endsWith('_id'));
  if (ids.length === 1) return ids[0];
  throw new Error(`cannot tell the id argument of ${tool.name}: ${JSON.stringify(tool.inputSchema)}`);
}

/** Asserts that `promise` rejects with an McpError of `code` and `message`. */
async function rejectsWith(promise, code, message, dataType) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a JSON-RPC error ${code} ${message ?? ''}, the call succeeded`);
  assert.equal(err.code, code, `error code (got message: ${err.message})`);
  if (message !== undefined) {
    // McpError formats its message as "MCP error <code>: <server message>".
    assert.equal(err.message, `MCP error ${code}: ${message}`);
  }
  if (dataType !== undefined) {
    assert.equal(err.data?.type, dataType, `error data: ${JSON.stringify(err.data)}`);
  }
  return err;
}

/**
 * A raw stdio session with `eryxon mcp serve --db DB`: write lines yourself
 * and read replies one line at a time.
 */
function rawSession(db, { env: extraEnv = {} } = {}) {
  const env = { ...process.env, ...extraEnv };
  delete env.ERYXON_MCP_KEY;
  const child = spawn(BIN, ['mcp', 'serve', '--db', db], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  let stderrText = '';
  child.stderr.on('data', (c) => {
    stderrText += c.toString();
  });
  const lines = [];
  const waiters = [];
  let closed = false;
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    const w = waiters.shift();
    if (w) w.resolve(line);
    else lines.push(line);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w.reject(new Error('server stdout closed'));
  });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stdin.on('error', () => {});

  return {
    child,
    exited,
    stderr: () => stderrText,
    write(line) {
      child.stdin.write(`${line}\n`);
    },
    /** The next reply line, parsed; rejects after `ms`. */
    next(ms = REQUEST_TIMEOUT) {
      if (lines.length) return Promise.resolve(JSON.parse(lines.shift()));
      if (closed) return Promise.reject(new Error('server stdout closed'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no reply within ${ms} ms; stderr: ${stderrText}`));
        }, ms);
        const entry = {
          resolve: (l) => {
            clearTimeout(timer);
            try {
              resolve(JSON.parse(l));
            } catch (e) {
              reject(new Error(`reply is not JSON: ${l}`));
            }
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        waiters.push(entry);
      });
    },
    /** Sends `msg` (object or string) and returns the next reply. */
    async request(msg, ms) {
      this.write(typeof msg === 'string' ? msg : JSON.stringify(msg));
      return this.next(ms);
    },
    /** Closes stdin; resolves with {code, signal} or rejects after `ms`. */
    async end(ms = 10_000) {
      child.stdin.end();
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`server did not exit within ${ms} ms after stdin closed`)), ms);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18'];

/** Connects and registers cleanup on the test context. */
async function open(t, db, opts) {
  const session = await connect(db, opts);
  t.after(() => session.close());
  return session;
}

/** Makes the SDK's zod validation failures readable (their message can be empty). */
function sdkSchemaError(what, e) {
  if (Array.isArray(e?.issues)) {
    return new Error(`${what} result rejected by the SDK's schema: ${JSON.stringify(e.issues)}`);
  }
  return e;
}

/** tools/list as a name -> Tool map. */
async function toolMap(client, key) {
  const params = key === undefined ? undefined : { _meta: { apiKey: key } };
  let tools;
  try {
    ({ tools } = await client.listTools(params, { timeout: REQUEST_TIMEOUT }));
  } catch (e) {
    throw sdkSchemaError('tools/list', e);
  }
  return new Map(tools.map((tl) => [tl.name, tl]));
}

function assertPagination(sc) {
  const p = sc.pagination;
  assert.equal(typeof p, 'object', 'fetch_* result has pagination');
  assert.deepEqual(Object.keys(p).sort(), ['has_more', 'limit', 'offset', 'total']);
  assert.ok(Number.isInteger(p.offset) && p.offset >= 0);
  assert.ok(Number.isInteger(p.limit) && p.limit >= 1);
  assert.ok(Number.isInteger(p.total) && p.total >= 0);
  assert.equal(typeof p.has_more, 'boolean');
  const n = rows(sc.data).length;
  assert.ok(n <= p.limit, 'no more rows than limit');
  assert.equal(p.has_more, p.offset + n < p.total, 'has_more = offset + rows < total');
  return p;
}

describe('lifecycle', () => {
  test('initialize negotiates a supported protocol version; server is "eryxon"',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db } = makeShop({ label: 'init' });
      const s = await open(t, db);
      const negotiated = s.negotiatedVersion();
      assert.ok(SUPPORTED_VERSIONS.includes(negotiated),
        `negotiated ${negotiated}, want one of ${SUPPORTED_VERSIONS}`);
      // The SDK asks for its latest revision, which the server supports.
      const init = s.sent.find((m) => m.method === 'initialize');
      assert.equal(init.params.protocolVersion, '2025-11-25');
      assert.equal(negotiated, '2025-11-25');
      const info = s.client.getServerVersion();
      assert.equal(info.name, 'eryxon');
      assert.equal(typeof info.version, 'string');
      assert.ok(info.version.length > 0);
      assert.ok(s.client.getServerCapabilities()?.tools, 'server declares the tools capability');
      await s.client.ping({ timeout: REQUEST_TIMEOUT });
    });

  test('tools/list returns every built-in tool with object input and output schemas',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db } = makeShop({ label: 'list' });
      const s = await open(t, db);
      const tools = await toolMap(s.client);
      assert.deepEqual([...tools.keys()].sort(), [...ALL_TOOLS].sort());
      for (const tool of tools.values()) {
        assert.equal(typeof tool.inputSchema, 'object', `${tool.name} has inputSchema`);
        assert.equal(tool.inputSchema.type, 'object', `${tool.name} inputSchema.type`);
        assert.equal(tool.outputSchema?.type, 'object', `${tool.name} outputSchema.type`);
        assert.equal(typeof tool.description, 'string', `${tool.name} has a description`);
      }
    });
});

describe('authentication', () => {
  test('key in params._meta.apiKey reaches the server (checked on the wire)',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'meta' });
      const s = await open(t, db);
      const res = await callTool(s.client, 'fetch_jobs', { status: 'in_progress' }, key);
      const sc = ok(res);
      const call = s.sent.find((m) => m.method === 'tools/call');
      assert.equal(call.params._meta?.apiKey, key, 'SDK wrote params._meta.apiKey');
      assert.equal(call.params.name, 'fetch_jobs');
      assertPagination(sc);
    });

  test('key from ERYXON_MCP_KEY in the server environment', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db, key } = makeShop({ label: 'envkey' });
    const s = await open(t, db, { envKey: key });
    const jobs = ok(await callTool(s.client, 'fetch_jobs', {}));
    assert.ok(jobs.pagination.total > 0, 'seeded jobs are visible');
    const stats = ok(await callTool(s.client, 'get_dashboard_stats', {}));
    assert.equal(typeof stats.data, 'object');
    const call = s.sent.find((m) => m.method === 'tools/call');
    assert.equal(call.params._meta, undefined, 'no key on the wire');
  });

  test('a test-environment key (--env test) works', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db, tenant } = makeShop({ label: 'testenv' });
    const testKey = createKey(db, tenant, 'test-key', { env: 'test' });
    assert.ok(testKey.startsWith('mcp_test_'), 'test keys start with mcp_test_');
    const s = await open(t, db);
    const sc = ok(await callTool(s.client, 'fetch_jobs', { limit: 1 }, testKey));
    assert.ok(sc.pagination.total > 0);
  });

  test('bad, truncated, missing and foreign keys: -32000 "Invalid or disabled MCP key"',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'badkey' });
      const other = makeShop({ label: 'otherdb', seed: false }); // well-formed, unknown here
      const s = await open(t, db);
      const bad = [
        ['garbage', 'mcp_live_not-a-real-key'],
        ['truncated', key.slice(0, -1)],
        ['one char changed', key.slice(0, -8) + (key.at(-8) === 'A' ? 'B' : 'A') + key.slice(-7)],
        ['empty', ''],
        ['key of another database', other.key],
      ];
      for (const [what, k] of bad) {
        await t.test(what, async () => {
          await rejectsWith(callTool(s.client, 'fetch_jobs', {}, k),
            -32000, 'Invalid or disabled MCP key', 'authentication_error');
        });
      }
      await t.test('no key at all', async () => {
        await rejectsWith(callTool(s.client, 'fetch_jobs', {}),
          -32000, 'Invalid or disabled MCP key', 'authentication_error');
      });
      // -32000 is also the SDK's ConnectionClosed code: prove the server is
      // still there and the right key still works.
      ok(await callTool(s.client, 'fetch_jobs', { limit: 1 }, key));
    });

  test('a wrong ERYXON_MCP_KEY is refused too', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db, key } = makeShop({ label: 'badenv' });
    const s = await open(t, db, { envKey: key.slice(0, -1) });
    await rejectsWith(callTool(s.client, 'fetch_jobs', {}),
      -32000, 'Invalid or disabled MCP key', 'authentication_error');
    // A per-call key wins over the environment's.
    ok(await callTool(s.client, 'fetch_jobs', { limit: 1 }, key));
  });

  test('a second tenant\'s key cannot see or change the first tenant\'s jobs',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key: keyA } = makeShop({ label: 'tenants' });
      const tenantB = createTenant(db, `Tenant B ${runId}`);
      const keyB = createKey(db, tenantB, 'b-all');
      const s = await open(t, db);
      const a = ok(await callTool(s.client, 'fetch_jobs', { limit: 1000 }, keyA));
      assert.ok(a.pagination.total > 0, 'tenant A has seeded jobs');
      const b = ok(await callTool(s.client, 'fetch_jobs', { limit: 1000 }, keyB));
      assert.equal(b.pagination.total, 0, 'tenant B sees none of A\'s jobs');
      assert.deepEqual(rows(b.data), []);
      const ops = ok(await callTool(s.client, 'fetch_operations', {}, keyB));
      assert.equal(rows(ops.data).length, 0, 'tenant B sees none of A\'s operations');

      const tools = await toolMap(s.client);
      const jobA = rows(a.data).find((j) => j.status === 'not_started') ?? rows(a.data)[0];
      const res = await callTool(s.client, 'start_job',
        { [idArg(tools.get('start_job'))]: jobA.id }, keyB);
      toolError(res, 'NOT_FOUND');
      // And A's job is untouched.
      const again = ok(await callTool(s.client, 'fetch_jobs', { limit: 1000 }, keyA));
      assert.equal(rows(again.data).find((j) => j.id === jobA.id).status, jobA.status);
    });

  test('restricted key: allowed tools work, others -32000 "Tool not allowed for this key"',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, tenant, key } = makeShop({ label: 'restricted' });
      const limited = createKey(db, tenant, 'limited', { tools: 'fetch_jobs,get_dashboard_stats' });
      const s = await open(t, db);
      ok(await callTool(s.client, 'fetch_jobs', { limit: 5 }, limited));
      ok(await callTool(s.client, 'get_dashboard_stats', {}, limited));
      const jobs = rows(ok(await callTool(s.client, 'fetch_jobs', { limit: 5 }, key)).data);
      const tools = await toolMap(s.client);
      await rejectsWith(
        callTool(s.client, 'start_job', { [idArg(tools.get('start_job'))]: jobs[0].id }, limited),
        -32000, 'Tool not allowed for this key', 'permission_error');
      await rejectsWith(callTool(s.client, 'fetch_operations', {}, limited),
        -32000, 'Tool not allowed for this key', 'permission_error');
      // tools/list with the restricted key shows only what it may call.
      const visible = await toolMap(s.client, limited);
      assert.deepEqual([...visible.keys()].sort(), ['fetch_jobs', 'get_dashboard_stats']);
    });
});

describe('tools', () => {
  test('fetch_jobs {"status":"in_progress"} returns only in_progress jobs; pagination',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'fetch' });
      const s = await open(t, db);
      const sc = ok(await callTool(s.client, 'fetch_jobs', { status: 'in_progress' }, key));
      const p = assertPagination(sc);
      const jobs = rows(sc.data);
      assert.ok(jobs.length > 0, 'the demo seed has in_progress jobs');
      assert.equal(p.total, jobs.length);
      for (const j of jobs) {
        assert.equal(j.status, 'in_progress', `job ${j.job_number}`);
        assert.equal(typeof j.id, 'string');
        assert.equal(typeof j.job_number, 'string');
      }
      // Every status is seeded, and the filters partition the jobs.
      const all = ok(await callTool(s.client, 'fetch_jobs', { limit: 1000 }, key));
      let sum = 0;
      for (const status of ['not_started', 'in_progress', 'completed', 'on_hold']) {
        const r = ok(await callTool(s.client, 'fetch_jobs', { status, limit: 1000 }, key));
        assert.ok(r.pagination.total > 0, `seed has ${status} jobs`);
        sum += r.pagination.total;
      }
      assert.equal(sum, all.pagination.total);
      // Paging.
      const page = ok(await callTool(s.client, 'fetch_jobs', { limit: 2, offset: 1 }, key));
      const pp = assertPagination(page);
      assert.equal(pp.limit, 2);
      assert.equal(pp.offset, 1);
      assert.equal(pp.total, all.pagination.total);
      assert.deepEqual(rows(page.data).map((j) => j.id),
        rows(all.data).slice(1, 3).map((j) => j.id));
      // Non-listing tools carry no pagination.
      const stats = ok(await callTool(s.client, 'get_dashboard_stats', {}, key));
      assert.equal(stats.pagination, undefined);
    });

  test('create_job, fetch it, start_job, complete_job; starting a completed job fails',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'flow' });
      const s = await open(t, db);
      const tools = await toolMap(s.client);
      const jobNumber = `E2E-${runId}`;
      const customer = 'E2E Test Customer';
      const created = row(ok(await callTool(s.client, 'create_job',
        { job_number: jobNumber, customer, due_date: '2030-01-31' }, key)).data, 'job');
      assert.equal(created.job_number, jobNumber);
      assert.equal(created.customer, customer);
      assert.equal(created.status, 'not_started');
      assert.equal(created.due_date, '2030-01-31');

      const found = ok(await callTool(s.client, 'fetch_jobs', { customer }, key));
      assert.deepEqual(rows(found.data).map((j) => j.id), [created.id]);
      const ns = ok(await callTool(s.client, 'fetch_jobs', { status: 'not_started', limit: 1000 }, key));
      assert.ok(rows(ns.data).some((j) => j.id === created.id));

      toolError(await callTool(s.client, 'create_job', { job_number: jobNumber, customer }, key),
        'DUPLICATE_ENTRY');

      const idOf = (tool) => ({ [idArg(tools.get(tool))]: created.id });
      const started = row(ok(await callTool(s.client, 'start_job', idOf('start_job'), key)).data, 'job');
      assert.equal(started.id, created.id);
      assert.equal(started.status, 'in_progress');
      const done = row(ok(await callTool(s.client, 'complete_job', idOf('complete_job'), key)).data, 'job');
      assert.equal(done.status, 'completed');

      const err = toolError(await callTool(s.client, 'start_job', idOf('start_job'), key),
        'INVALID_STATE_TRANSITION');
      assert.ok(err.message.length > 0);

      const after = ok(await callTool(s.client, 'fetch_jobs', { customer }, key));
      assert.equal(rows(after.data)[0].status, 'completed', 'the failed start changed nothing');

      toolError(await callTool(s.client, 'start_job',
        { [idArg(tools.get('start_job'))]: '00000000-0000-4000-8000-000000000000' }, key), 'NOT_FOUND');
    });

  test('operations: start_operation then complete_operation; dashboard counts move',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'ops' });
      const s = await open(t, db);
      const tools = await toolMap(s.client);
      const before = ok(await callTool(s.client, 'get_dashboard_stats', {}, key)).data;
      const list = ok(await callTool(s.client, 'fetch_operations', { status: 'not_started' }, key));
      assertPagination(list);
      const ops = rows(list.data);
      assert.ok(ops.length > 0, 'the demo seed has not_started operations');
      for (const o of ops) assert.equal(o.status, 'not_started');
      const op = ops[0];
      const arg = (tool) => ({ [idArg(tools.get(tool))]: op.id });
      const started = row(ok(await callTool(s.client, 'start_operation', arg('start_operation'), key)).data, 'operation');
      assert.equal(started.status, 'in_progress');
      const done = row(ok(await callTool(s.client, 'complete_operation', arg('complete_operation'), key)).data, 'operation');
      assert.equal(done.status, 'completed');
      assert.equal(done.completion_percentage, 100);
      toolError(await callTool(s.client, 'pause_operation', arg('pause_operation'), key),
        'INVALID_STATE_TRANSITION');
      const after = ok(await callTool(s.client, 'get_dashboard_stats', {}, key)).data;
      assert.notDeepEqual(after, before, 'dashboard stats reflect the change');
    });

  test('input validation: VALIDATION_ERROR results; unknown tool is -32602',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'validate' });
      const s = await open(t, db);
      const invalid = [
        ['fetch_jobs', { limit: 0 }],
        ['fetch_jobs', { limit: 1001 }],
        ['fetch_jobs', { status: 'bogus' }],
        ['fetch_jobs', { no_such_property: 1 }],
        ['fetch_jobs', { limit: 'ten' }],
        ['fetch_jobs', { offset: -1 }],
        ['create_job', { customer: 'no job number' }],
        ['start_job', {}],
      ];
      for (const [name, args] of invalid) {
        await t.test(`${name} ${JSON.stringify(args)}`, async () => {
          toolError(await callTool(s.client, name, args, key), 'VALIDATION_ERROR');
        });
      }
      await t.test('unknown tool', async () => {
        await rejectsWith(callTool(s.client, 'no_such_tool', {}, key), -32602);
      });
      // Still serving.
      ok(await callTool(s.client, 'fetch_jobs', { limit: 1 }, key));
    });
});

describe('protocol utilities', () => {
  test('capabilities declare tools.listChanged and logging', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db } = makeShop({ label: 'caps', seed: false });
    const s = await open(t, db);
    const caps = s.client.getServerCapabilities();
    assert.equal(caps.tools?.listChanged, true);
    assert.deepEqual(caps.logging, {});
  });

  test('tools/list pages by cursor; the walk sees every tool once; a bad cursor is -32602',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db } = makeShop({ label: 'pages', seed: false });
      const s = await open(t, db, { serveArgs: ['--page-size', '4'] });
      const names = [];
      let cursor;
      let pages = 0;
      do {
        const page = await s.client.listTools(cursor === undefined ? undefined : { cursor },
          { timeout: REQUEST_TIMEOUT });
        pages += 1;
        assert.ok(page.tools.length <= 4, `page ${pages} has ${page.tools.length} tools`);
        names.push(...page.tools.map((tl) => tl.name));
        cursor = page.nextCursor;
        assert.ok(pages <= 30, 'pagination ends');
      } while (cursor !== undefined);
      assert.equal(pages, Math.ceil(ALL_TOOLS.length / 4));
      assert.deepEqual(names, ALL_TOOLS);
      await rejectsWith(s.client.listTools({ cursor: 'not-a-cursor' }, { timeout: REQUEST_TIMEOUT }),
        -32602, 'Invalid cursor');
    });

  test('logging/setLevel, then notifications/message for tool calls; bad level -32602',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, key } = makeShop({ label: 'logging' });
      const s = await open(t, db);
      const messages = [];
      let wake;
      s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        messages.push(n.params);
        wake?.();
      });
      // Default level "warning": a refused call is logged unasked.
      await rejectsWith(callTool(s.client, 'fetch_jobs', {}, 'mcp_live_wrong'), -32000);
      await s.client.setLoggingLevel('info');
      ok(await callTool(s.client, 'fetch_jobs', { limit: 1 }, key));
      const deadline = Date.now() + REQUEST_TIMEOUT;
      while (!messages.some((m) => m.data?.outcome === 'ok') && Date.now() < deadline) {
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      const refused = messages.find((m) => m.data?.outcome === 'refused');
      assert.ok(refused, `a warning for the refused call: ${JSON.stringify(messages)}`);
      assert.equal(refused.level, 'warning');
      assert.equal(refused.data.code, 'AUTHENTICATION_ERROR');
      const okCall = messages.find((m) => m.data?.outcome === 'ok');
      assert.ok(okCall, `an info message for the call: ${JSON.stringify(messages)}`);
      assert.equal(okCall.level, 'info');
      assert.equal(okCall.logger, 'eryxon.mcp');
      assert.equal(okCall.data.tool, 'fetch_jobs');
      assert.ok(!JSON.stringify(messages).includes(key), 'the key is never logged');
      await rejectsWith(
        s.client.request({ method: 'logging/setLevel', params: { level: 'loud' } }, EmptyResultSchema,
          { timeout: REQUEST_TIMEOUT }),
        -32602);
    });
});

describe('raw stdio', () => {
  test('bad lines get JSON-RPC errors and the server keeps serving; exits 0 on EOF',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db } = makeShop({ label: 'raw', seed: false });
      const r = rawSession(db);
      t.after(() => r.kill());

      const parseErr = await r.request('{not json');
      assert.equal(parseErr.jsonrpc, '2.0');
      assert.equal(parseErr.id, null);
      assert.equal(parseErr.error?.code, -32700, JSON.stringify(parseErr));

      const emptyBatch = await r.request('[]');
      assert.equal(emptyBatch.error?.code, -32600, JSON.stringify(emptyBatch));
      assert.equal(emptyBatch.id, null);

      const init = await r.request({
        jsonrpc: '2.0', id: 1, method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
      });
      assert.equal(init.jsonrpc, '2.0');
      assert.equal(init.id, 1);
      assert.equal(init.error, undefined, JSON.stringify(init));
      assert.equal(init.result.protocolVersion, '2025-11-25');
      assert.equal(init.result.serverInfo.name, 'eryxon');
      assert.equal(typeof init.result.capabilities.tools, 'object');

      const nope = await r.request({ jsonrpc: '2.0', id: 2, method: 'nope' });
      assert.equal(nope.id, 2);
      assert.equal(nope.error?.code, -32601, JSON.stringify(nope));

      // A notification gets no reply: the next line is the ping's.
      r.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      const ping = await r.request({ jsonrpc: '2.0', id: 3, method: 'ping' });
      assert.deepEqual(ping, { jsonrpc: '2.0', id: 3, result: {} });

      const { code, signal } = await r.end();
      assert.equal(signal, null);
      assert.equal(code, 0, `exit code; stderr: ${r.stderr()}`);
    });

  test('protocol version negotiation over raw stdio', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db } = makeShop({ label: 'rawver', seed: false });
    const initialize = (id, protocolVersion) => ({
      jsonrpc: '2.0', id, method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    for (const [asked, want] of [['2025-06-18', '2025-06-18'], ['1999-01-01', null]]) {
      await t.test(`client asks ${asked}`, async (tt) => {
        const r = rawSession(db);
        tt.after(() => r.kill());
        const reply = await r.request(initialize(1, asked));
        assert.equal(reply.error, undefined, JSON.stringify(reply));
        if (want) assert.equal(reply.result.protocolVersion, want);
        // Unknown revision: the server answers with one it supports.
        else assert.ok(SUPPORTED_VERSIONS.includes(reply.result.protocolVersion), JSON.stringify(reply));
        const { code } = await r.end();
        assert.equal(code, 0);
      });
    }
  });
});

/**
 * Starts `eryxon mcp serve --http 127.0.0.1:0` and resolves with
 * { url, stop() } once it prints the address it listens on (the port the
 * kernel picked, so parallel runs never collide).
 */
function startHttpServer(db) {
  const env = { ...process.env, ...passThroughEnv() };
  delete env.ERYXON_MCP_KEY;
  const child = spawn(BIN, ['mcp', 'serve', '--db', db, '--http', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderrText = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address within 15 s: ${stderrText}`)), 15_000);
    child.stderr.on('data', (chunk) => {
      stderrText += chunk.toString();
      const m = /MCP Streamable HTTP on (http:\/\/\S+)/.exec(stderrText);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`eryxon exited (${code ?? signal}) before listening: ${stderrText}`));
    });
  });
  return {
    url,
    stderr: () => stderrText,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('streamable HTTP', () => {
  test('the SDK\'s StreamableHTTPClientTransport with a Bearer key lists tools and calls fetch_jobs',
    { timeout: TEST_TIMEOUT }, async (t) => {
      const { db, tenant } = makeShop({ label: 'http' });
      const narrowKey = createKey(db, tenant, 'http-narrow', { tools: 'fetch_jobs' });
      const server = startHttpServer(db);
      t.after(() => server.stop());
      const url = await server.url;

      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${narrowKey}` } },
      });
      const client = new Client({ name: 'eryxon-e2e-http', version: '0.1.0' });
      await client.connect(transport, { timeout: REQUEST_TIMEOUT });
      t.after(() => client.close());
      assert.ok(transport.sessionId, 'the server assigned a session id');
      assert.ok(SUPPORTED_VERSIONS.includes(transport.protocolVersion),
        `negotiated ${transport.protocolVersion}`);
      assert.equal(client.getServerVersion().name, 'eryxon');

      const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT });
      assert.deepEqual(tools.map((x) => x.name), ['fetch_jobs']);
      const jobs = ok(await client.callTool({ name: 'fetch_jobs', arguments: { limit: 2 } },
        undefined, { timeout: REQUEST_TIMEOUT }));
      assert.ok(Array.isArray(jobs.data));
      assert.ok(jobs.data.length >= 1 && jobs.data.length <= 2);

      // A tool outside the key's list: HTTP 403, which the SDK reports as an error.
      await assert.rejects(
        client.callTool({ name: 'get_dashboard_stats', arguments: {} }, undefined,
          { timeout: REQUEST_TIMEOUT }),
        /403|not allowed/i);

      await transport.terminateSession();
      assert.equal(transport.sessionId, undefined);
    });

  test('no key or a wrong key: 401 with WWW-Authenticate', { timeout: TEST_TIMEOUT }, async (t) => {
    const { db } = makeShop({ label: 'http401', seed: false });
    const server = startHttpServer(db);
    t.after(() => server.stop());
    const url = await server.url;
    const init = JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const none = await fetch(url, { method: 'POST', headers, body: init });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="eryxon"');
    assert.equal((await none.json()).error.code, -32000);
    const wrong = await fetch(url, {
      method: 'POST', headers: { ...headers, Authorization: 'Bearer mcp_live_nope' }, body: init,
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate'), /error="invalid_token"/);
    await wrong.body?.cancel();

    const { code, signal } = await server.stop();
    assert.equal(code, 0, `exit code; stderr: ${server.stderr()}`);
    assert.equal(signal, null);
  });
});
