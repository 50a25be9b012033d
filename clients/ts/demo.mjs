#!/usr/bin/env node
// demo.mjs - walk through the eryxon MCP server with the official MCP
// TypeScript SDK, the way an AI client (Claude Desktop, an agent) would.
//
// Usage:
//   node demo.mjs --bin PATH_TO_eryxon --db DB_FILE --key MCP_KEY
//
// Launches `eryxon mcp serve --db DB_FILE` over stdio, then: initialize,
// tools/list, fetch_jobs (in_progress), start and complete one not_started
// operation, get_dashboard_stats, and finally prints the
// claude_desktop_config.json block that runs the same server.
//
// The key is sent per call as params._meta.apiKey and is printed only inside
// that final config block. Exits non-zero on any failure.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const USAGE = 'usage: node demo.mjs --bin PATH_TO_eryxon --db DB_FILE --key MCP_KEY';
const REQUEST_TIMEOUT = 30_000;

let secret = '';
/** Never let the key reach the terminal by accident. */
function redact(text) {
  const s = String(text);
  return secret ? s.split(secret).join('<redacted>') : s;
}

class DemoError extends Error {}

function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        bin: { type: 'string' },
        db: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new DemoError(`${err.message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  for (const name of ['bin', 'db', 'key']) {
    if (!values[name]) throw new DemoError(`missing --${name}\n${USAGE}`);
  }
  const bin = path.resolve(values.bin);
  const db = path.resolve(values.db);
  if (!fs.existsSync(bin)) throw new DemoError(`no eryxon binary at ${bin}`);
  if (!fs.existsSync(db)) {
    throw new DemoError(`no database at ${db} (create one with: eryxon init --db ${db})`);
  }
  return { bin, db, key: values.key };
}

function heading(step, title) {
  console.log(`\n== (${step}) ${title}`);
}

/** Prints rows as a fixed-width table. */
function table(rows, columns) {
  const cell = (v) => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => `  ${vals.map((v, i) => v.padEnd(widths[i])).join('  ')}`.trimEnd();
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}

/** The rows of a fetch_* result (data is an array, or holds one). */
function rowsOf(data) {
  if (Array.isArray(data)) return data;
  for (const k of ['items', 'jobs', 'parts', 'operations']) {
    if (Array.isArray(data?.[k])) return data[k];
  }
  throw new DemoError(`unexpected listing data: ${JSON.stringify(data).slice(0, 200)}`);
}

/** The row of a single-row result (data is the row, or {job|operation: row}). */
function rowOf(data, kind) {
  if (typeof data?.id === 'string') return data;
  if (typeof data?.[kind]?.id === 'string') return data[kind];
  throw new DemoError(`unexpected ${kind} data: ${JSON.stringify(data).slice(0, 200)}`);
}

/** Name of the argument that carries a row id, from the tool's inputSchema. */
function idArgument(tool) {
  const props = tool?.inputSchema?.properties ?? {};
  if ('id' in props) return 'id';
  const ids = (tool?.inputSchema?.required ?? []).filter((p) => p.endsWith('_id'));
  if (ids.length === 1) return ids[0];
  throw new DemoError(`cannot tell which argument of ${tool?.name} is the id`);
}

/** Prints nested counts (e.g. {jobs:{not_started:3,...}, active_cells:5}). */
function printCounts(value, indent = '  ') {
  for (const [k, v] of Object.entries(value ?? {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const flat = Object.values(v).every((x) => typeof x !== 'object' || x === null);
      if (flat) {
        const parts = Object.entries(v).map(([kk, vv]) => `${kk}=${vv}`);
        console.log(`${indent}${k.padEnd(12)} ${parts.join('  ')}`);
      } else {
        console.log(`${indent}${k}:`);
        printCounts(v, `${indent}  `);
      }
    } else {
      console.log(`${indent}${k.padEnd(12)} ${JSON.stringify(v)}`);
    }
  }
}

async function main() {
  const { bin, db, key } = parseCommandLine();
  secret = key;

  const env = {};
  // Keys are hashed with a server pepper; keep the CLI's and the server's the same.
  if (process.env.ERYXON_PEPPER) env.ERYXON_PEPPER = process.env.ERYXON_PEPPER;
  const transport = new StdioClientTransport({
    command: bin,
    args: ['mcp', 'serve', '--db', db],
    env,
    stderr: 'pipe',
  });
  let serverStderr = '';
  transport.stderr?.on('data', (c) => {
    serverStderr += c.toString();
  });
  // The SDK reports the negotiated revision to transports that want it.
  let negotiated = '(unknown)';
  transport.setProtocolVersion = (v) => {
    negotiated = v;
  };

  const client = new Client({ name: 'eryxon-ts-demo', version: '0.1.0' });

  /** tools/call with the key in _meta; throws on protocol or tool errors. */
  async function call(name, args = {}) {
    const result = await client.callTool(
      { name, arguments: args, _meta: { apiKey: key } },
      undefined,
      { timeout: REQUEST_TIMEOUT },
    );
    const sc = result.structuredContent ?? JSON.parse(result.content?.[0]?.text ?? 'null');
    if (result.isError || !sc?.success) {
      const e = sc?.error ?? {};
      throw new DemoError(`${name} failed: ${e.code ?? 'error'}: ${e.message ?? JSON.stringify(sc)}`);
    }
    return sc;
  }

  try {
    heading('a', 'initialize');
    await client.connect(transport, { timeout: REQUEST_TIMEOUT });
    const info = client.getServerVersion();
    console.log(`  server:   ${info?.name} ${info?.version}`);
    console.log(`  protocol: ${negotiated}`);

    heading('b', 'tools/list');
    let tools;
    try {
      ({ tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT }));
    } catch (e) {
      // The SDK validates results with zod; say what it refused.
      if (Array.isArray(e?.issues)) {
        throw new DemoError(`tools/list result rejected by the SDK: ${JSON.stringify(e.issues)}`);
      }
      throw e;
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    console.log(`  ${tools.length} tools:`);
    for (const t of tools) console.log(`    - ${t.name}`);

    heading('c', 'fetch_jobs {"status":"in_progress"}');
    const jobs = await call('fetch_jobs', { status: 'in_progress' });
    const jobRows = rowsOf(jobs.data);
    table(jobRows, ['job_number', 'customer', 'status']);
    if (jobs.pagination) {
      const p = jobs.pagination;
      console.log(`  (${jobRows.length} shown of ${p.total}; offset ${p.offset}, limit ${p.limit}, has_more ${p.has_more})`);
    }

    heading('d', 'fetch_operations {"status":"not_started"} -> start_operation -> complete_operation');
    const ops = rowsOf((await call('fetch_operations', { status: 'not_started' })).data);
    if (ops.length === 0) throw new DemoError('no not_started operation to work on (seed the demo shop first)');
    const op = ops[0];
    console.log(`  picked:    ${op.operation_name} (${op.id})  status=${op.status}  ${op.completion_percentage ?? 0}%`);
    const started = rowOf(
      (await call('start_operation', { [idArgument(byName.get('start_operation'))]: op.id })).data,
      'operation',
    );
    console.log(`  started:   status=${started.status}  ${started.completion_percentage ?? 0}%`);
    const done = rowOf(
      (await call('complete_operation', { [idArgument(byName.get('complete_operation'))]: op.id })).data,
      'operation',
    );
    console.log(`  completed: status=${done.status}  ${done.completion_percentage ?? 0}%`);

    heading('e', 'get_dashboard_stats');
    const stats = await call('get_dashboard_stats');
    printCounts(stats.data);
  } catch (err) {
    if (serverStderr.trim()) {
      console.error(`server stderr:\n${redact(serverStderr.trim())}`);
    }
    throw err;
  } finally {
    await client.close().catch(() => {});
  }

  heading('f', 'claude_desktop_config.json');
  const config = {
    mcpServers: {
      eryxon: {
        command: bin,
        args: ['mcp', 'serve', '--db', db],
        env: { ERYXON_MCP_KEY: key },
      },
    },
  };
  console.log(JSON.stringify(config, null, 2));
}

main().catch((err) => {
  let msg;
  if (err instanceof DemoError) msg = err.message;
  else if (err instanceof McpError) {
    // A JSON-RPC error from the server (or -32000/-32001 from the SDK when
    // the connection closed or timed out).
    msg = err.data === undefined ? err.message : `${err.message} (data: ${JSON.stringify(err.data)})`;
  } else msg = err?.stack ?? String(err);
  console.error(`demo failed: ${redact(msg)}`);
  process.exitCode = 1;
});
