// The TypeScript baseline of eryxon's stdio benchmark (bench/bench_mcp.cpp,
// BM_StdioRoundTrip/1/*): the official MCP TypeScript SDK's McpServer over
// StdioServerTransport with one `echo` tool that returns its text. What it
// costs is the SDK's own per-call work: framing, JSON-RPC dispatch, zod
// validation of the arguments, the result.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'ts-echo', version: '1.0.0' });
server.registerTool(
  'echo',
  { description: 'Returns its text', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);
await server.connect(new StdioServerTransport());
