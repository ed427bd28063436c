import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config/load.js';
import { registerConfigSecrets } from '../src/config/secrets.js';
import { createLogger } from '../src/log.js';
import { setSecrets } from '../src/secrets/redact.js';
import { eventually, repoRoot, tsxLoader } from './helpers.js';

afterEach(() => setSecrets([]));

describe('secrets from the environment never reach a log line', () => {
  it('redacts them in every field, message and error written through createLogger', () => {
    const env = { DOCS_TOKEN: 'tok-9f8e7d6c5b4a', DB_PASSWORD: 'pa"ss\\word-42' };
    const { config, secrets } = readConfig(
      'backends:\n  docs:\n    url: "http://127.0.0.1:1/mcp"\n    headers: { Authorization: "Bearer ${DOCS_TOKEN}" }\n  db:\n    command: x\n    env: { PGPASSWORD: "${DB_PASSWORD}", MODE: "${MODE:-default-mode}" }\n',
      { env },
    );
    registerConfigSecrets(secrets);
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line) => lines.push(line) });
    const docs = config.backends.docs!;
    const db = config.backends.db!;
    logger.info({ headers: docs.kind === 'http' ? docs.headers : {} }, 'connecting');
    logger.warn({ env: db.kind === 'stdio' ? db.env : {} }, `starting with ${env.DB_PASSWORD}`);
    logger.error({ err: new Error(`401 for token ${env.DOCS_TOKEN}`) }, 'failed');
    logger.info({ [env.DOCS_TOKEN]: 'as a key' }, 'odd');
    const text = lines.join('');
    expect(lines).toHaveLength(4);
    expect(text).not.toContain(env.DOCS_TOKEN);
    expect(text).not.toContain('pa\\"ss\\\\word-42'); // as JSON writes it
    expect(text).not.toContain('ss\\\\word');
    expect(JSON.parse(lines[0]!).headers.Authorization).toBe('Bearer «redacted:DOCS_TOKEN»');
    expect(JSON.parse(lines[1]!).env).toEqual({ PGPASSWORD: '«redacted:DB_PASSWORD»', MODE: 'default-mode' });
    expect(JSON.parse(lines[1]!).msg).toBe('starting with «redacted:DB_PASSWORD»');
    expect(JSON.parse(lines[2]!).err.message).toBe('401 for token «redacted:DOCS_TOKEN»');
    expect(JSON.parse(lines[3]!)['«redacted:DOCS_TOKEN»']).toBe('as a key');
    // A default written in the file is not a secret.
    expect(text).toContain('default-mode');
  });

  it('mcp-gateway registers them when it serves: a backend printing its token is logged redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-secrets-'));
    const file = join(dir, 'gateway.yaml');
    const script = "process.stderr.write('my token is ' + process.env.API_TOKEN + '\\n'); process.exit(1)";
    writeFileSync(
      file,
      `server: { port: 0, watch: false }\nbackends:\n  leaky:\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", ${JSON.stringify(script)}]\n    env: { API_TOKEN: "\${LEAKY_TOKEN}" }\n`,
    );
    const secret = 'leaky-secret-0123456789';
    const child = spawn(process.execPath, ['--import', tsxLoader, `${repoRoot}/src/cli.ts`, '--config', file], {
      env: { ...process.env, LEAKY_TOKEN: secret },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await eventually(() => /serving (http:\/\/\S+)"/.exec(stderr)?.[1], 'the gateway serves', 300);
      const client = new Client({ name: 'secrets-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      await client.callTool({ name: 'list_servers', arguments: {} });
      await client.close();
      await eventually(() => stderr.includes('my token is'), 'the backend stderr line is logged');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(stderr).toContain('my token is «redacted:LEAKY_TOKEN»');
    expect(stderr).not.toContain(secret);
  });
});
