import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, relayTo, startHttp } from './http-harness.js';
import type { RunningGateway } from '../src/server.js';
import { CLIENT_KINDS, eventually, startTestGateway } from './helpers.js';

const ledgerServer = fileURLToPath(new URL('./fixtures/ledger-server.mjs', import.meta.url));
const leavingClient = fileURLToPath(new URL('./fixtures/leaving-client.mjs', import.meta.url));

describe('a caller who leaves mid-call is cancelled at the backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-http-cancel-'));
  const ledgerFile = join(dir, 'ledger.log');
  const ledger = (): string[] => {
    try {
      return readFileSync(ledgerFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  let relay: Awaited<ReturnType<typeof relayTo>>;
  let harness: Harness;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    relay = await relayTo(process.execPath, [ledgerServer], { LEDGER_FILE: ledgerFile });
    harness = await startHttp({ newMcpServer: relay.newMcpServer });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await harness?.close();
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CLIENT_KINDS)('a %s client killed while its call runs', async (kind) => {
    const tag = `killed-${kind}`;
    const child = spawn(process.execPath, [leavingClient, harness.url, kind, tag], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await eventually(() => ledger().includes(`start ${tag}`), `the call of ${kind} reached the backend`);
    child.kill('SIGKILL');
    await eventually(() => ledger().includes(`cancel ${tag}`), `the backend saw the call of ${kind} cancelled`);
    expect(ledger()).not.toContain(`done ${tag}`);
  });
});

describe('through the gateway: invoke of a caller who leaves is cancelled at the backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-http-cancel-e2e-'));
  const ledgerFile = join(dir, 'ledger.log');
  const ledger = (): string[] => {
    try {
      return readFileSync(ledgerFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  let gateway: RunningGateway;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway({
      backends: { lg: { command: process.execPath, args: [ledgerServer], env: { LEDGER_FILE: ledgerFile }, max_concurrent: 64 } },
    });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CLIENT_KINDS)('a %s client killed during invoke', async (kind) => {
    const tag = `e2e-${kind}`;
    const child = spawn(process.execPath, [leavingClient, gateway.url, kind, tag, 'lg'], { stdio: 'ignore' });
    children.push(child);
    await eventually(() => ledger().includes(`start ${tag}`), `the invoke of ${kind} reached the backend`);
    child.kill('SIGKILL');
    await eventually(() => ledger().includes(`cancel ${tag}`), `the backend saw the invoke of ${kind} cancelled`);
  });

  it.each(['2025-session', '2025-stateless', '2026'] as const)(
    '%s: every abandoned call that reached the backend is cancelled, whenever the connection drops',
    async (lane) => {
      const headers = await laneHeaders(gateway.url, lane);
      // The backend runs already, so calls reach it within the drop times below.
      await fetch(gateway.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 'warm', method: 'tools/call', params: invokeParams(lane, { ms: 1, tag: 'warm' }) }),
      }).then((r) => r.text());
      const calls = 24;
      // Drop each connection at a different moment: before, while and after the call reaches the backend.
      await Promise.all(Array.from({ length: calls }, (_, i) => abandon(gateway.url, headers, lane, `${lane}-${i}`, i * 15)));
      const tags = (event: string) =>
        ledger()
          .filter((l) => l.startsWith(`${event} ${lane}-`))
          .map((l) => l.split(' ')[1]);
      // Calls that reached the backend and were not cancelled would end as `done` only after 20 s; wait for every start to be cancelled.
      const allCancelled = () => tags('start').every((t) => tags('cancel').includes(t));
      await eventually(() => tags('start').length > 0 && allCancelled(), `every started ${lane} call was cancelled`);
      await new Promise((r) => setTimeout(r, 500)); // a late start would show here
      expect(allCancelled()).toBe(true);
      expect(tags('done')).toEqual([]);
    },
  );
});

const META_2026 = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'abandon', version: '1' },
};

async function laneHeaders(url: string, lane: '2025-session' | '2025-stateless' | '2026'): Promise<Record<string, string>> {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (lane === '2026') return { ...base, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'invoke' };
  const headers = { ...base, 'mcp-protocol-version': '2025-11-25' };
  if (lane === '2025-stateless') return headers;
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'abandon', version: '1' } },
    }),
  });
  await init.text();
  return { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '' };
}

function invokeParams(lane: string, wait: { ms: number; tag: string }): Record<string, unknown> {
  const params: Record<string, unknown> = { name: 'invoke', arguments: { server: 'lg', tool: 'wait', arguments: wait } };
  if (lane === '2026') params._meta = META_2026;
  return params;
}

/** POST invoke(wait 20 s) over its own connection and destroy that connection after `afterMs`. */
function abandon(url: string, headers: Record<string, string>, lane: string, tag: string, afterMs: number): Promise<void> {
  const target = new URL(url);
  const body = JSON.stringify({ jsonrpc: '2.0', id: tag, method: 'tools/call', params: invokeParams(lane, { ms: 20_000, tag }) });
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => res.resume(),
    );
    req.on('error', () => {});
    req.end(body);
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}
