import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/server.js';
import {
  type CallResult,
  CLIENT_KINDS,
  connectClient,
  errorOf,
  type FrontClient,
  fixtureBackend,
  repoRoot,
  startTestGateway,
} from './helpers.js';

/**
 * Every error path of every meta-tool, through the SDKs' high-level callTool (v1 and v2, both eras) and
 * the Inspector CLI: each must come back as an isError result the client shows, never as a thrown
 * -32602 because structuredContent broke the tool's outputSchema. (list_servers has no error path.)
 */
/** A REST capability whose argument schema bounds `n`: a bad value must be refused before any request. */
const capabilityDir = mkdtempSync(join(tmpdir(), 'gw-errors-cap-'));
writeFileSync(
  join(capabilityDir, 'bounded.yaml'),
  [
    'name: bounded',
    'description: Returns n',
    'allow_private_network: true',
    'input: { type: object, properties: { n: { type: integer, maximum: 5 } }, required: [n] }',
    'request: { method: GET, url: "http://127.0.0.1:9/n/{n}" }',
  ].join('\n'),
);

const config = {
  limits: { max_query_chars: 50 },
  capability_dirs: [capabilityDir],
  backends: {
    fixture: fixtureBackend(),
    broken: fixtureBackend(['--exit-at-start'], { connect_timeout_ms: 5_000 }),
    hangs: fixtureBackend([], { timeout_ms: 300 }),
    rpcerr: fixtureBackend(['--rpc-error-on-call', 'echo']),
    narrow: fixtureBackend([], { max_concurrent: 1, max_queue: 0 }),
    limited: fixtureBackend([], { rate_limit: { calls: 1, per_ms: 600_000 } }),
    fragile: fixtureBackend(['--crash-after', '1'], { circuit_breaker: { failures: 1, reset_ms: 600_000 }, retries: 0 }),
  },
};

function expectError(result: CallResult, code: string): void {
  expect(result.isError, JSON.stringify(result)).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  expect(errorOf(result)).toMatchObject({ code, message: expect.any(String) });
}

describe.each(CLIENT_KINDS)('meta-tool errors through a %s client', (kind) => {
  let gateway: RunningGateway;
  let client: FrontClient;

  beforeAll(async () => {
    gateway = await startTestGateway(config);
    client = await connectClient(kind, gateway.url);
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.close();
  });

  it('list_tools: unknown server, unavailable backend, bad arguments', async () => {
    expectError(await client.call('list_tools', { server: 'nope' }), 'unknown_server');
    expectError(await client.call('list_tools', { server: 'broken' }), 'backend_unavailable');
    expectError(await client.call('list_tools', {}), 'invalid_arguments');
  });

  it('search_tools: unknown server, empty query, query over the limit', async () => {
    expectError(await client.call('search_tools', { query: 'echo', server: 'nope' }), 'unknown_server');
    expectError(await client.call('search_tools', { query: '' }), 'invalid_arguments');
    const long = await client.call('search_tools', { query: 'x'.repeat(51) });
    expectError(long, 'invalid_arguments');
    expect(errorOf(long)?.message).toContain('limit is 50');
  });

  it('invoke: bad arguments, unknown server and tool', async () => {
    expectError(await client.call('invoke', { tool: 'echo' }), 'invalid_arguments');
    const outOfRange = await client.call('invoke', { server: 'capabilities', tool: 'bounded', arguments: { n: 10 } });
    expectError(outOfRange, 'invalid_arguments');
    expect(errorOf(outOfRange)?.problems).toEqual([expect.objectContaining({ path: expect.stringContaining('n') })]);
    expectError(await client.call('invoke', { server: 'fixtur', tool: 'echo' }), 'unknown_server');
    expectError(await client.call('invoke', { server: 'fixture', tool: 'ecoh' }), 'unknown_tool');
  });

  it('invoke: unavailable, backend error, timeout', async () => {
    expectError(await client.call('invoke', { server: 'broken', tool: 'echo' }), 'backend_unavailable');
    const rpc = await client.call('invoke', { server: 'rpcerr', tool: 'echo', arguments: {} });
    expectError(rpc, 'backend_error');
    expect(errorOf(rpc)?.rpcCode).toBe(-32603);
    expectError(await client.call('invoke', { server: 'hangs', tool: 'slow', arguments: { ms: 5_000 } }), 'timeout');
  });

  it('invoke: busy, rate limited, circuit open', async () => {
    const [slow, second] = await Promise.all([
      client.call('invoke', { server: 'narrow', tool: 'slow', arguments: { ms: 1_000 } }),
      new Promise((r) => setTimeout(r, 300)).then(() => client.call('invoke', { server: 'narrow', tool: 'echo', arguments: {} })),
    ]);
    expect(slow.isError).toBeFalsy();
    expectError(second, 'busy');

    expect((await client.call('invoke', { server: 'limited', tool: 'echo', arguments: {} })).isError).toBeFalsy();
    const limited = await client.call('invoke', { server: 'limited', tool: 'echo', arguments: {} });
    expectError(limited, 'rate_limited');
    expect(errorOf(limited)?.limit).toBe('backend');

    expectError(await client.call('invoke', { server: 'fragile', tool: 'echo', arguments: {} }), 'backend_unavailable');
    expectError(await client.call('invoke', { server: 'fragile', tool: 'echo', arguments: {} }), 'circuit_open');
  });
});

/** The MCP Inspector's CLI (v1 SDK client: lists tools, then callTool, which validates against outputSchema). */
function inspector(url: string, tool: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The CLI finds its own package.json relative to the working directory, so it runs from its build folder.
  const cwd = `${repoRoot}/node_modules/@modelcontextprotocol/inspector-cli/build`;
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['index.js', url, '--transport', 'http', '--method', 'tools/call', '--tool-name', tool, '--tool-arg', ...args],
      {
        cwd,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('meta-tool errors through the MCP Inspector CLI', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ capability_dirs: [], backends: { fixture: fixtureBackend() } });
  });
  afterAll(() => gateway?.close());

  it.each([
    ['list_tools', ['server=nope'], 'unknown_server'],
    ['search_tools', ['query=echo', 'server=nope'], 'unknown_server'],
    ['invoke', ['server=fixture', 'tool=ecoh'], 'unknown_tool'],
  ])('%s %j shows %s', async (tool, args, code) => {
    const run = await inspector(gateway.url, tool, args);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as CallResult;
    expectError(result, code);
  });

  it('a successful list_tools validates against its outputSchema', async () => {
    const run = await inspector(gateway.url, 'list_tools', ['server=fixture']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as CallResult).structuredContent).toMatchObject({ server: 'fixture' });
  });
});
