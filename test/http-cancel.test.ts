import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, relayTo, startHttp } from './http-harness.js';
import { CLIENT_KINDS, eventually } from './helpers.js';

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
