import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../src/config/exposure.js';
import { repoRoot, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-cli-tools-'));
function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('--version and --help', () => {
  it('prints the package version, and each command its help with exit codes', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const run = await runCli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
    const helps = await Promise.all(['import', 'client-config', 'validate', 'serve'].map((command) => runCli([command, '--help'])));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: mcp-gateway /);
      expect(help.stdout).toContain('Exit codes: 0 ');
    }
    expect(helps[0]!.stdout).toContain('--dry-run');
    expect(helps[1]!.stdout).toContain('claude-desktop');
  });
});

describe('mcp-gateway client-config', () => {
  const token = 'gw-key-0123456789abcdef';
  const withAuth = config('auth.yaml', 'server: { host: 0.0.0.0, port: 4567 }\nauth:\n  keys:\n    - { name: me, token: "${GW_TOKEN}" }\n');

  it('prints each client its snippet for /mcp, with a token placeholder and never the token', async () => {
    const env = { GW_TOKEN: token };
    const [claude, cursor, vscode, desktop] = await Promise.all(
      ['claude', 'cursor', 'vscode', 'claude-desktop'].map((client) => runCli(['client-config', client, '--config', withAuth], { env })),
    );
    for (const run of [claude, cursor, vscode, desktop]) {
      expect(run!.code).toBe(0);
      expect(run!.stdout + run!.stderr).not.toContain(token);
    }
    expect(claude!.stdout).toBe(
      'claude mcp add --transport http gateway http://127.0.0.1:4567/mcp --header "Authorization: Bearer ${GATEWAY_TOKEN}"\n',
    );
    expect(JSON.parse(cursor!.stdout)).toEqual({
      mcpServers: { gateway: { url: 'http://127.0.0.1:4567/mcp', headers: { Authorization: 'Bearer ${env:GATEWAY_TOKEN}' } } },
    });
    expect(JSON.parse(vscode!.stdout)).toMatchObject({
      servers: { gateway: { type: 'http', url: 'http://127.0.0.1:4567/mcp', headers: { Authorization: 'Bearer ${input:gateway-token}' } } },
      inputs: [{ type: 'promptString', id: 'gateway-token', password: true }],
    });
    expect(JSON.parse(desktop!.stdout).mcpServers.gateway).toEqual({
      command: 'npx',
      args: ['-y', 'mcp-remote', 'http://127.0.0.1:4567/mcp', '--header', 'Authorization:${AUTH_HEADER}'],
      env: { AUTH_HEADER: 'Bearer ${GATEWAY_TOKEN}' },
    });
  });

  it('leaves the header out without auth, takes --url, and refuses an unknown client', async () => {
    const plain = config('plain.yaml', 'server: { port: 39555 }\n');
    const [windsurf, custom, unknown] = await Promise.all([
      runCli(['client-config', 'windsurf', '--config', plain]),
      runCli(['client-config', 'claude', '--config', plain, '--url', 'https://gw.example/mcp']),
      runCli(['client-config', 'emacs', '--config', plain]),
    ]);
    expect(JSON.parse(windsurf.stdout)).toEqual({ mcpServers: { gateway: { serverUrl: 'http://127.0.0.1:39555/mcp' } } });
    expect(custom.stdout).toBe('claude mcp add --transport http gateway https://gw.example/mcp\n');
    expect(unknown.code).toBe(2);
  });
});

describe('mcp-gateway validate checks the machine', () => {
  it('names the backend whose command or cwd is missing and exits 2', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'server.sh'), '#!/bin/sh\n');
    chmodSync(join(bin, 'server.sh'), 0o755);
    writeFileSync(join(bin, 'not-executable.sh'), '#!/bin/sh\n');
    const file = config(
      'machine.yaml',
      `backends:
  fine: { command: node }
  local: { command: ./bin/server.sh }
  typo: { command: nodee-not-installed }
  nofile: { command: ./bin/missing.sh }
  noexec: { command: ./bin/not-executable.sh }
  nowhere: { command: node, cwd: ./no-such-folder }
  off: { command: nodee-not-installed, enabled: false }
  remote: { url: "http://127.0.0.1:1/mcp", headers: { X-Token: "\${EMPTY_VAR}" } }
`,
    );
    const run = await runCli(['validate', '--config', file], { env: { EMPTY_VAR: '' } });
    expect(run.code).toBe(2);
    const lines = run.stderr.split('\n');
    expect(lines).toContain(
      `${file}: backends.typo.command: backend typo: command nodee-not-installed is not on PATH (${process.env.PATH})`,
    );
    expect(lines).toContain(
      `${file}: backends.nofile.command: backend nofile: command ./bin/missing.sh not found (looked for ${bin}/missing.sh)`,
    );
    expect(lines).toContain(`${file}: backends.noexec.command: backend noexec: command ${bin}/not-executable.sh is not executable`);
    expect(lines).toContain(`${file}: backends.nowhere.cwd: backend nowhere: the folder ${dir}/no-such-folder does not exist`);
    expect(lines).toContain(
      `warning: ${file}:9:64: backends.remote.headers.X-Token: backend remote: environment variable EMPTY_VAR is set but empty`,
    );
    expect(lines).toContain(`4 problem(s) in ${file}`);
  });

  it('names the backend of an unset variable, and exits 0 with warnings only', async () => {
    const file = config(
      'vars.yaml',
      'backends:\n  docs:\n    url: "http://127.0.0.1:1/mcp"\n    headers: { Authorization: "Bearer ${NOT_SET_TOKEN}", X: "${EMPTY_VAR}" }\n',
    );
    const [unset, empty] = await Promise.all([
      runCli(['validate', '--config', file]),
      runCli(['validate', '--config', file], { env: { NOT_SET_TOKEN: 'set-now-123', EMPTY_VAR: '' } }),
    ]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('backends.docs.headers.Authorization: backend docs: environment variable NOT_SET_TOKEN is not set');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('ok (1 backends)');
    expect(empty.stderr).toContain('warning: ');
    expect(empty.stderr).toContain('backend docs: environment variable EMPTY_VAR is set but empty');
  });

  it('refuses a config file over limits.max_file_bytes (default 1 MiB) before parsing', async () => {
    const file = config('huge.yaml', `backends: {}\n${'# padding\n'.repeat(110_000)}`);
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: (top level): the file is larger than 1048576 bytes (limits.max_file_bytes); it was not parsed`);
  });
});

describe('a bind beyond loopback needs auth', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '::ffff:10.0.0.1', '128.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('refuses to serve (exit 2) on 0.0.0.0 without auth, also through --host, unless allowed', async () => {
    const open = config('open.yaml', 'server: { host: 0.0.0.0, port: 0 }\n');
    const loopback = config('loopback.yaml', 'server: { port: 0 }\n');
    const allowed = config('allowed.yaml', 'server: { host: 0.0.0.0, port: 0, allow_unauthenticated_network: true }\n');
    const [serveOpen, serveHost, validateOpen, validateAllowed] = await Promise.all([
      runCli(['--config', open]),
      runCli(['--config', loopback, '--host', '192.168.1.2']),
      runCli(['validate', '--config', open]),
      runCli(['validate', '--config', allowed]),
    ]);
    expect(serveOpen.code).toBe(2);
    expect(serveOpen.stderr).toContain(
      'refusing to serve: server.host 0.0.0.0 is not a loopback address and the config has no `auth` section',
    );
    expect(serveHost.code).toBe(2);
    expect(serveHost.stderr).toContain('server.host 192.168.1.2 is not a loopback address');
    expect(validateOpen.code).toBe(2);
    expect(validateOpen.stderr).toContain('server.host: server.host 0.0.0.0 is not a loopback address');
    expect(validateAllowed.code).toBe(0);
  });
});
