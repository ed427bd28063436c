import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../src/config/command-line.js';
import { parseDocument } from 'yaml';
import { ConfigError, loadConfig, parseConfig, readConfig } from '../src/config/load.js';
import { readBounded } from '../src/config/read-bounded.js';
import { readYamlQuickly, UNREADABLE } from '../src/config/yaml-text.js';
import { runCli } from './helpers.js';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, { file: 'gw.yaml', env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('gateway.yaml parsing', () => {
  it('applies defaults and normalizes stdio and HTTP backends', () => {
    const config = parseConfig(
      `
backends:
  mem:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-memory"]
  docs:
    http_url: http://127.0.0.1:8080/mcp
    headers: { Authorization: "Bearer abc" }
  old:
    url: http://127.0.0.1:9000/sse
    transport: sse
`,
      { file: '/srv/gw/gateway.yaml', env: {} },
    );
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 39400,
      shutdown_timeout_ms: 10_000,
      watch: true,
      allow_unauthenticated_network: false,
    });
    expect(config.meta_mcp.tool_prefix).toBe('');
    expect(config.backends.mem).toMatchObject({
      kind: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-memory'],
      cwd: '/srv/gw',
      enabled: true,
      timeoutMs: 60_000,
    });
    expect(config.backends.docs).toMatchObject({
      kind: 'http',
      url: 'http://127.0.0.1:8080/mcp',
      transport: 'auto',
      headers: { Authorization: 'Bearer abc' },
    });
    expect(config.backends.old).toMatchObject({ kind: 'http', transport: 'sse' });
  });

  it('splits a command string without args like a shell', () => {
    const config = parseConfig('backends:\n  a:\n    command: "npx -y \'my pkg\' --flag=\\"x y\\""\n', { env: {} });
    expect(config.backends.a).toMatchObject({ command: 'npx', args: ['-y', 'my pkg', '--flag=x y'] });
    expect(splitCommandLine('a\\ b  c')).toEqual(['a b', 'c']);
    expect(() => splitCommandLine('a "b')).toThrow(/unterminated/);
  });

  it('resolves a relative cwd against the config file', () => {
    const config = parseConfig('backends:\n  a: { command: x, cwd: ./sub }\n', { file: '/etc/gw/gateway.yaml', env: {} });
    expect(config.backends.a).toMatchObject({ cwd: '/etc/gw/sub' });
  });

  it('passes ./ ../ and ~/ values of stdio args and env as absolute paths, relative to the config file', () => {
    const config = parseConfig(
      `
backends:
  mem:
    command: npx
    args: ["-y", "./server.js", "../shared/data", "~/notes", "--flag=./x", "a/./b", "."]
    env: { MEMORY_FILE_PATH: "\${MEM:-./data/memory.jsonl}", CACHE: "~/cache", MODE: "./not-a-path-but-resolved", URL: "http://h/./x" }
    cwd: ~/work
  split:
    command: node ./main.js --out=./o
`,
      { file: '/srv/gw/gateway.yaml', env: {} },
    );
    expect(config.backends.mem).toMatchObject({
      args: ['-y', '/srv/gw/server.js', '/srv/shared/data', join(homedir(), 'notes'), '--flag=./x', 'a/./b', '.'],
      env: {
        MEMORY_FILE_PATH: '/srv/gw/data/memory.jsonl',
        CACHE: join(homedir(), 'cache'),
        MODE: '/srv/gw/not-a-path-but-resolved',
        URL: 'http://h/./x',
      },
      cwd: join(homedir(), 'work'),
    });
    // Without `args` the command string is split first; its words are args like any other.
    expect(config.backends.split).toMatchObject({ command: 'node', args: ['/srv/gw/main.js', '--out=./o'], cwd: '/srv/gw' });
  });

  it('returns the values taken from the environment as secrets, not the defaults written in the file', () => {
    const loaded = readConfig(
      'backends:\n  a:\n    url: "http://h/mcp"\n    headers: { Authorization: "Bearer ${TOKEN}", X-Default: "${UNSET:-written-here}" }\n  b:\n    command: x\n    env: { K: "${API_KEY}", E: "${EMPTY}" }\n',
      { env: { TOKEN: 'tok-123456789', API_KEY: 'key-abcdefgh', EMPTY: '' } },
    );
    expect(loaded.secrets).toEqual([
      { value: 'tok-123456789', name: 'TOKEN' },
      { value: 'key-abcdefgh', name: 'API_KEY' },
    ]);
    expect(loaded.warnings).toEqual([
      { path: 'backends.b.env.E', message: 'backend b: environment variable EMPTY is set but empty', line: 7, col: 32 },
    ]);
  });

  it("answers other clients' keys with the gateway's word", () => {
    const lines = problems(
      `mcpServers: {}
backends:
  a:
    type: http
    serverUrl: "http://h/mcp"
    timeout: 5000
    disabled: true
    autoApprove: [x]
  b:
    type: stdio
    command: x
    alwaysAllow: []
  c:
    url: "http://h/mcp"
    type: sse
    env: { K: v }
`,
    );
    expect(lines).toContain('gw.yaml:1:1: mcpServers: unknown key (gateway.yaml lists servers under `backends`)');
    expect(lines).toContain(
      'gw.yaml:4:5: backends.a.type: unknown key (use `transport: streamable-http` (or leave it out: Streamable HTTP, falling back to SSE))',
    );
    expect(lines).toContain('gw.yaml:5:5: backends.a.serverUrl: unknown key (use `url`)');
    expect(lines).toContain('gw.yaml:6:5: backends.a.timeout: unknown key (use `timeout_ms` (milliseconds))');
    expect(lines).toContain('gw.yaml:7:5: backends.a.disabled: unknown key (use `enabled: false`)');
    expect(lines).toContain(
      "gw.yaml:8:5: backends.a.autoApprove: unknown key (not needed: the client approves the gateway's tools; remove it)",
    );
    expect(lines).toContain('gw.yaml:10:5: backends.b.type: unknown key (not needed: a backend with `command` is stdio)');
    expect(lines).toContain(
      'gw.yaml:15:5: backends.c.type: unknown key (use `transport: sse` (or leave it out: Streamable HTTP, falling back to SSE))',
    );
    expect(
      lines.some(
        (l) => l.startsWith('gw.yaml:16:10: backends.c.env: `env` only applies to stdio') && l.includes('takes credentials in `headers`'),
      ),
    ).toBe(true);
  });

  it('refuses a file over limits.max_file_bytes before parsing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-size-'));
    const big = join(dir, 'big.yaml');
    // Not YAML at all: a parse would report a syntax error instead of the size.
    writeFileSync(big, `backends: {\n${'#'.repeat(2048)}`);
    await expect(loadConfig(big, { env: {}, maxBytes: 1024 })).rejects.toThrow(
      /larger than 1024 bytes \(limits\.max_file_bytes\); it was not parsed/,
    );
    const own = join(dir, 'own.yaml');
    writeFileSync(own, `limits: { max_file_bytes: 1024 }\n${'#'.repeat(1100)}\n`);
    await expect(loadConfig(own, { env: {} })).rejects.toThrow(
      /limits\.max_file_bytes: the file \(\d+ bytes\) is larger than its own limit, 1024/,
    );
  });

  it('expands ${VAR} and ${VAR:-default} in every string value', () => {
    const config = parseConfig(
      `
server: { host: "\${HOST:-127.0.0.1}" }
backends:
  a:
    command: "\${BIN}"
    args: ["--dir", "\${DIR:-/tmp/default}"]
    env: { TOKEN: "t-\${SECRET}" }
`,
      { env: { BIN: 'node', SECRET: 's3cret' } },
    );
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.backends.a).toMatchObject({ command: 'node', args: ['--dir', '/tmp/default'], env: { TOKEN: 't-s3cret' } });
  });

  it('names the YAML path of an unset variable, without its value', () => {
    const lines = problems('backends:\n  docs:\n    url: http://x/mcp\n    headers:\n      Authorization: "Bearer ${DOCS_TOKEN}"\n');
    expect(lines[0]).toBe(
      'gw.yaml:5:22: backends.docs.headers.Authorization: backend docs: environment variable DOCS_TOKEN is not set (use ${DOCS_TOKEN:-default} for a default)',
    );
  });

  it('rejects unknown keys with their path and a suggestion', () => {
    const lines = problems('server:\n  prot: 1\nbackends:\n  mem:\n    command: x\n    timout_ms: 5\nextra: true\n');
    expect(lines).toContain('gw.yaml:2:3: server.prot: unknown key (did you mean `port`?)');
    expect(lines).toContain('gw.yaml:6:5: backends.mem.timout_ms: unknown key (did you mean `timeout_ms`?)');
    expect(lines.some((l) => l.includes('extra: unknown key'))).toBe(true);
  });

  it('requires exactly one of command and url, and keys that fit the kind', () => {
    expect(problems('backends:\n  a: { description: nothing }\n')[0]).toMatch(
      /backends\.a: give exactly one of `command` \(stdio\) or `url` \(HTTP\)/,
    );
    expect(problems('backends:\n  a: { command: x, url: "http://h/mcp" }\n')[0]).toMatch(/give exactly one/);
    expect(problems('backends:\n  a: { url: "http://h/mcp", args: [x] }\n')[0]).toMatch(/backends\.a\.args: `args` only applies to stdio/);
    expect(problems('backends:\n  a: { command: x, headers: { A: b } }\n')[0]).toMatch(
      /backends\.a\.headers: `headers` only applies to HTTP/,
    );
  });

  it('reports wrong types, bad values and YAML syntax errors with line numbers', () => {
    expect(problems('server:\n  port: "eighty"\n')[0]).toMatch(/^gw\.yaml:2:9: server\.port: /);
    expect(problems('server: { port: 70000 }\n')[0]).toMatch(/server\.port: .*65535/);
    expect(problems('backends:\n  a: { url: "ftp://x" }\n')[0]).toMatch(/backends\.a\.url/);
    expect(problems('backends:\n  "bad name!": { command: x }\n')[0]).toMatch(/a backend name uses/);
    expect(problems('backends:\n  a: [unclosed\n')[0]).toMatch(/^gw\.yaml:\d+:\d+: \(top level\): /);
    expect(problems('- a list\n')[0]).toMatch(/must be a mapping/);
  });

  it('reads YAML as the located path does, or leaves the text to it', () => {
    // js-yaml reads plain text (fast); yaml parses everything else. Either way the value must be yaml's.
    const quick = [
      'a: on\nb: yes\nc: No\nd: 2024-01-01\ne: "007"\nf: 010\ng: 0o17\nh: 0x1F\ni: 1_000\nj: .inf\nk: -.Inf\nl: ~\nm: 1e3',
      "text: |\n  two\n  lines\nfolded: >-\n  one\n  line\nsingle: 'it''s'\ndouble: \"tab\\tand \\u00e9\"",
      'list: [1, "2", three, {x: y}]\nnested:\n  - name: a\n    args: [-y, pkg]',
    ];
    const leftToYaml = [
      '%YAML 1.1\n---\na: 010\nb: on', // a directive: yaml reads 1.1 (8, true)
      'a: &x {k: v}\nb: *x', // an alias
      'null: 1\n~: 2', // null keys: js-yaml would say "null" and "~"
      `${'k'.repeat(1100)}: 1`, // an implicit key over 1,024 characters: an error in yaml
      'big: 1e400', // Infinity in yaml, the string "1e400" in js-yaml
      'a: 1\na: 2', // a duplicate key
      'a: [unclosed',
      '',
    ];
    for (const text of quick) expect(readYamlQuickly(text), text).toEqual(parseDocument(text).toJS());
    for (const text of leftToYaml) expect(readYamlQuickly(text), text).toBe(UNREADABLE);
  });

  it('parses configs the fast path leaves alone exactly as before', () => {
    expect(parseConfig('server: { port: 010 }\n', { env: {} }).server.port).toBe(10);
    expect(parseConfig('%YAML 1.1\n---\nserver: { port: 010 }\n', { env: {} }).server.port).toBe(8);
    const aliased = parseConfig('backends:\n  a: &c { command: x, description: yes }\n  b: *c\n', { env: {} });
    expect(aliased.backends.b).toMatchObject({ command: 'x', description: 'yes' });
    expect(problems('~\n')[0]).toMatch(/must be a mapping/);
    expect(problems('backends:\n  null: { command: x }\n')[0]).toMatch(/a backend name uses/);
    expect(problems('backends:\n  a: { command: x }\n  a: { command: y }\n')[0]).toMatch(/^gw\.yaml:3:3: \(top level\): .*unique/);
    // An alias bomb: yaml stops expanding it; it must not be walked as a shared structure.
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      bomb.push(
        `${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10)
          .fill(`*${'abcdefgh'[i - 1]}`)
          .join(', ')}]`,
      );
    expect(problems(`${bomb.join('\n')}\n`)[0]).toMatch(/alias/i);
  });

  it('lists every problem at once', () => {
    expect(problems('server: { port: -1, hots: x }\nbackends:\n  a: {}\n  b: { command: x, enabled: "yes" }\n')).toHaveLength(4);
  });
});

describe('mcp-gateway validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));

  it('exits 0 for a valid file', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'backends:\n  a: { command: node }\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ok (1 backends)');
  });

  it('exits 2 and prints every problem with its path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'backends:\n  a: { command: node, timeout_ms: -5 }\n  b: { comand: node }\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('backends.a.timeout_ms');
    expect(run.stderr).toContain('backends.b.comand: unknown key (did you mean `command`?)');
    expect(run.stderr).toContain('problem(s)');
  });

  it('exits 2 for a missing file, a bad flag, and finds $MCP_GATEWAY_CONFIG', async () => {
    expect((await runCli(['validate', '--config', join(dir, 'missing.yaml')])).code).toBe(2);
    expect((await runCli(['--bogus'])).code).toBe(2);
    const file = join(dir, 'env.yaml');
    writeFileSync(file, 'backends: {}\n');
    const run = await runCli(['validate'], { env: { MCP_GATEWAY_CONFIG: file }, cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(file);
  });

  it('serving an invalid config exits 2 before listening', async () => {
    const file = join(dir, 'bad-serve.yaml');
    writeFileSync(file, 'server: { port: "x" }\n');
    const run = await runCli(['--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('server.port');
  });
});

describe.skipIf(process.platform === 'win32')('reading gateway.yaml from a pipe', () => {
  it('waits for a slow writer (as `--config <(envsubst < gateway.yaml)` is), and refuses a pipe nobody writes to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-pipe-'));
    const fifo = join(dir, 'gateway.yaml');
    execFileSync('mkfifo', [fifo]);
    // The writer opens the pipe and writes only after a while.
    const writer = spawn('sh', ['-c', `exec 3>"${fifo}"; sleep 0.4; printf 'limits: { max_sessions: 7 }\\n' >&3`]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const loaded = await loadConfig(fifo);
      expect(loaded.config.limits.max_sessions).toBe(7);
    } finally {
      writer.kill();
    }
    // A pipe nobody writes to is not an empty config: it is refused once the wait is over.
    await expect(readBounded(fifo, 1024, { pipeWaitMs: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe.skipIf(process.platform === 'win32')('reading gateway.yaml from a pipe fed on demand', () => {
  it('waits for the writer to attach instead of reading an empty config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-pipe-'));
    const fifo = join(dir, 'gateway.yaml');
    execFileSync('mkfifo', [fifo]);
    // The writer attaches only after the reader opened the pipe.
    const writer = spawn('sh', ['-c', `sleep 0.3; printf 'limits: { max_sessions: 9 }\\n' > "${fifo}"`]);
    try {
      const loaded = await loadConfig(fifo);
      expect(loaded.config.limits.max_sessions).toBe(9);
    } finally {
      writer.kill();
    }
  });
});
