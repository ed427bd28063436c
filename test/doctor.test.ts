import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBackend, runCli } from './helpers.js';

/** `mcp-gateway doctor` through the real CLI: real fixture backends started, a real port probed. */
describe('mcp-gateway doctor', () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;
  const write = (name: string, config: Record<string, unknown>) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ capability_dirs: [], ...config }));
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-doctor-'));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => busy.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 when every check passes, with a line per backend and its tools', async () => {
    const file = write('good.yaml', {
      server: { port: 0 },
      backends: {
        one: fixtureBackend(),
        two: fixtureBackend(['--name', 'two', '--tools', '2']),
        off: { ...fixtureBackend(), enabled: false },
      },
    });
    const { code, stdout } = await runCli(['doctor', '--config', file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}one: ok, 6 tools in \d+ ms$/m);
    expect(stdout).toMatch(/^ {2}two: ok, 8 tools in \d+ ms$/m);
    expect(stdout).toMatch(/^backend one +ok +6 tools in \d+ ms \(echo, fail_with_structure, slow, cancellations, pid, crash\)$/m);
    expect(stdout).toMatch(/^backend off +ok +skipped \(enabled: false\)$/m);
    expect(stdout).toMatch(/^port +ok/m);
    expect(stdout).toContain('All well.');
  });

  it('exits 1 and prints the fix for a missing command, a backend that exits, a port in use and an unreachable URL', async () => {
    const file = write('bad.yaml', {
      server: { port: busyPort },
      backends: {
        good: fixtureBackend(),
        missing: { command: 'no-such-command-h10' },
        exits: fixtureBackend(['--exit-at-start']),
        remote: { url: 'http://127.0.0.1:9/mcp', connect_timeout_ms: 5000 },
      },
    });
    const { code, stdout } = await runCli(['doctor', '--config', file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^backend good +ok +6 tools/m);
    expect(stdout).toMatch(/^backend missing +FAIL +backend missing: command no-such-command-h10 is not on PATH/m);
    expect(stdout).toMatch(/^ {2}backend missing: install no-such-command-h10 or put its folder on PATH/m);
    expect(stdout).toMatch(/^backend exits +FAIL .*fixture refusing to start/m);
    expect(stdout).toMatch(/^ {2}backend exits: it exited during start-up: run `.*fixture-server\.mjs --exit-at-start` in /m);
    expect(stdout).toMatch(new RegExp(`^port +FAIL +cannot listen on 127\\.0\\.0\\.1:${busyPort}: EADDRINUSE`, 'm'));
    expect(stdout).toMatch(/^ {2}port: another program listens on/m);
    expect(stdout).toMatch(
      /^ {2}backend remote: nothing answers at http:\/\/127\.0\.0\.1:9\/mcp: start that server, or fix backends\.remote\.url$/m,
    );
    expect(stdout).toContain('4 problem(s). Fixes:');
    // The missing command was not started: no progress line for it.
    expect(stdout).not.toMatch(/^ {2}missing:/m);
  });

  it('exits 2 on a config error, naming an unset ${VAR} and how to give it a default', async () => {
    const file = write('unset.yaml', { backends: { one: fixtureBackend([], { env: { TOKEN: '${H10_DOCTOR_UNSET}' } }) } });
    const { code, stderr } = await runCli(['doctor', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('environment variable H10_DOCTOR_UNSET is not set (use ${H10_DOCTOR_UNSET:-default} for a default)');
    const typo = write('typo.yaml', { backend: {} });
    expect((await runCli(['doctor', '--config', typo])).code).toBe(2);
    expect((await runCli(['doctor', 'extra'])).code).toBe(2);
  });

  it('never prints a value that came from the environment', async () => {
    const secret = 'doctor-secret-value-31337';
    const file = write('secret.yaml', {
      server: { port: 0 },
      backends: { leaky: { command: 'sh', args: ['-c', 'echo "token=$LEAK" >&2; exit 1'], env: { LEAK: '${H10_DOCTOR_SECRET}' } } },
    });
    const { code, stdout, stderr } = await runCli(['doctor', '--config', file], { env: { H10_DOCTOR_SECRET: secret } });
    expect(code).toBe(1);
    expect(stdout).toContain('«redacted:H10_DOCTOR_SECRET»');
    expect(stdout + stderr).not.toContain(secret);
  });
});
