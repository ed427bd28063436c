import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallTimeoutError } from '../src/sources/source.js';
import { formatCapabilityProblem, loadCapabilityDirs } from '../src/capabilities/load.js';
import { CapabilitySource } from '../src/capabilities/source.js';
import { InvalidArgumentsError } from '../src/capabilities/validate.js';
import { loadCapabilitySources } from '../src/capabilities/sources.js';
import { redact } from '../src/secrets/redact.js';
import { CircuitOpenError, RateLimitedError } from '../src/sources/failsafes.js';
import { privateAddressKind } from '../src/capabilities/network-policy.js';
import { connectClient, repoRoot, startTestGateway } from './helpers.js';

/** What the test server saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A real HTTP server on 127.0.0.1 with a few routes:
 *   /echo/...      answers {method, url, headers, body} as JSON (so it echoes credentials back, too)
 *   /status/N      answers status N with a text body
 *   /data          a nested JSON document
 *   /text          plain text;  /html-error  a 502 HTML page;  /big  a long JSON array
 *   /hang          never answers (until the client goes away)
 *   /redirect?to=  a 302 to `to`
 *   /unauthorized  a 401 whose body quotes the Authorization header
 */
class TestServer {
  readonly seen: Seen[] = [];
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();
  closedEarly = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): unknown {
    const url = new URL(req.url!, this.url);
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(value));
    };
    if (url.pathname.startsWith('/echo')) return json(200, { method: req.method, url: req.url, headers: req.headers, body });
    if (url.pathname === '/unauthorized') return json(401, { error: 'bad credentials', got: req.headers.authorization });
    if (url.pathname.startsWith('/status/')) {
      res.writeHead(Number(url.pathname.slice(8)), { 'content-type': 'text/plain', 'retry-after': '7' });
      return res.end(`  something   went\n\n wrong: ${'x'.repeat(3000)}`);
    }
    if (url.pathname === '/data') {
      return json(200, {
        data: {
          items: [
            { id: 1, name: 'one', secret_field: 'a' },
            { id: 2, name: 'two', tags: ['t'] },
          ],
          total: 2,
        },
        'odd.key': { value: 42 },
      });
    }
    if (url.pathname === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('plain words');
    }
    if (url.pathname === '/html-error') {
      res.writeHead(502, { 'content-type': 'text/html' });
      return res.end(
        '<html><head><title>Bad Gateway</title><style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1><p>upstream   failed</p></body></html>',
      );
    }
    if (url.pathname === '/big')
      return json(
        200,
        Array.from({ length: 5000 }, (_, i) => ({ i })),
      );
    if (url.pathname === '/no-content') {
      res.writeHead(204);
      return res.end();
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to')! });
      return res.end();
    }
    if (url.pathname === '/hang') {
      this.hanging.add(res);
      res.on('close', () => {
        this.closedEarly++;
        this.hanging.delete(res);
      });
      return;
    }
    json(404, { error: 'no such route', path: url.pathname });
  }
}

const server = new TestServer();
const other = new TestServer(); // another origin, for cross-origin redirects
const dirs: string[] = [];
/** A port nothing listens on (a server was there a moment ago): connections are refused. */
let closedPort = 0;

beforeAll(async () => {
  await Promise.all([server.start(), other.start()]);
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  await Promise.all([server.stop(), other.stop()]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caps-'));
  dirs.push(dir);
  return dir;
}

/** Write files into a fresh folder and load it. */
async function load(files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const result = await loadCapabilityDirs([dir], env);
  return { dir, ...result, messages: result.problems.map(formatCapabilityProblem) };
}

/**
 * One valid file → its source (the env is where ${VAR}s are read at call time). The test server is on
 * loopback, which the network policy refuses by default: the file opts in, unless `policy` is 'default'.
 */
async function sourceFrom(yaml: string, env: NodeJS.ProcessEnv = {}, policy: 'opt-in' | 'default' = 'opt-in'): Promise<CapabilitySource> {
  const loaded = await load({ 'tool.yaml': policy === 'opt-in' ? `allow_private_network: true\n${yaml.trimStart()}` : yaml }, env);
  expect(loaded.messages).toEqual([]);
  expect(loaded.groups).toHaveLength(1);
  return new CapabilitySource(loaded.groups[0]!, { env: { BASE: server.url, ...env } });
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** The request the echo route saw, from a successful call's structuredContent. */
function echoed(result: CallToolResult): { method: string; url: string; headers: Record<string, string>; body: string } {
  expect(result.isError, text(result)).toBeFalsy();
  return result.structuredContent as never;
}

describe('capability files: validation', () => {
  it('reports an unknown key with file:line:col, its path and a did-you-mean', async () => {
    const { messages, groups } = await load({
      'bad.yaml': 'name: t\ndescription: d\nrequest:\n  url: https://example.com/x\n  metod: POST\n',
    });
    expect(groups).toEqual([]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/bad\.yaml:5:3: request\.metod: unknown key \(did you mean `method`\?\)$/);
  });

  it('reports an alias bomb as a problem of its file, and reads a plain alias', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      bomb.push(
        `${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10)
          .fill(`*${'abcdefgh'[i - 1]}`)
          .join(', ')}]`,
      );
    const tool = 'description: d\nrequest: { url: "https://example.com/x" }\n';
    const { messages, groups } = await load({ 'bomb.yaml': `${bomb.join('\n')}\n`, 'alias.yaml': `name: &n aliased\ntitle: *n\n${tool}` });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/bomb\.yaml: \(top level\): .*alias/i);
    expect(groups.flatMap((g) => g.tools.map((t) => [t.name, t.title]))).toEqual([['aliased', 'aliased']]);
  });

  it('reports a missing url, a bad method and a missing description at their paths', async () => {
    const { messages } = await load({
      'a.yaml': 'name: t\ndescription: d\nrequest:\n  method: GET\n',
      'b.yaml': 'name: t\ndescription: d\nrequest:\n  url: https://example.com/x\n  method: FETCH\n',
      'c.yaml': 'server: s\ntools:\n  - name: t\n    request: { url: "https://example.com" }\n',
    });
    expect(messages).toContainEqual(expect.stringMatching(/a\.yaml:4:3: request\.url: required$/));
    expect(messages).toContainEqual(
      expect.stringMatching(/b\.yaml:5:11: request\.method: must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS$/),
    );
    expect(messages).toContainEqual(expect.stringMatching(/c\.yaml:3:5: tools\.0\.description: required$/));
  });

  it('rejects a literal secret in auth, and never repeats it in the message', async () => {
    const { messages } = await load({
      'bearer.yaml':
        'name: t\ndescription: d\nrequest: { url: "https://example.com" }\nauth:\n  type: bearer\n  token: ghp_literalSecret123\n',
      'key.yaml':
        'name: t\ndescription: d\nrequest: { url: "https://example.com" }\nauth: { type: api_key, in: query, name: key, value: "abc${X}" }\n',
      'basic.yaml':
        'name: t\ndescription: d\nrequest: { url: "https://example.com" }\nauth: { type: basic, username: me, password: hunter2hunter2 }\n',
      'header.yaml':
        'name: t\ndescription: d\nrequest:\n  url: "https://example.com"\n  headers: { Authorization: "Bearer sk-literal-999" }\n',
    });
    expect(messages).toHaveLength(4);
    expect(messages).toContainEqual(
      expect.stringMatching(/bearer\.yaml:6:10: auth\.token: must be a reference to an environment variable, like "\$\{API_TOKEN\}"/),
    );
    expect(messages).toContainEqual(expect.stringMatching(/key\.yaml:4:\d+: auth\.value: must be a reference/));
    expect(messages).toContainEqual(expect.stringMatching(/basic\.yaml:4:\d+: auth\.password: must be a reference/));
    expect(messages).toContainEqual(
      expect.stringMatching(/header\.yaml:5:\d+: request\.headers\.Authorization: the header Authorization looks like a credential/),
    );
    const all = messages.join('\n');
    for (const literal of ['ghp_literalSecret123', 'hunter2hunter2', 'sk-literal-999']) expect(all).not.toContain(literal);
  });

  it('checks that placeholders are arguments and relative URLs have a base_url', async () => {
    const { messages } = await load({
      'p.yaml': 'name: t\ndescription: d\ninput:\n  properties: { id: { type: string } }\nrequest: { url: "https://example.com/{idd}" }\n',
      'r.yaml': 'name: t\ndescription: d\nrequest: { url: "/relative" }\n',
      'y.yaml': 'name: t\ndescription: d\nrequest: [oops\n',
      'e.yaml': '',
    });
    expect(messages).toContainEqual(
      expect.stringMatching(/p\.yaml:5:\d+: request\.url: \{idd\} is not an argument: add it to input\.properties$/),
    );
    expect(messages).toContainEqual(expect.stringMatching(/r\.yaml:3:\d+: request\.url: a relative URL needs base_url/));
    expect(messages).toContainEqual(expect.stringMatching(/y\.yaml:\d+:\d+: \(top level\): /));
    expect(messages).toContainEqual(expect.stringMatching(/e\.yaml: \(top level\): the file is empty$/));
  });

  it('reports a duplicate tool name within a server naming both files, and keeps the first', async () => {
    const tool = (server: string) => `server: ${server}\nname: same\ndescription: d\nrequest: { url: "https://example.com" }\n`;
    const { messages, groups, dir } = await load({ 'a.yaml': tool('s1'), 'b.yaml': tool('s1'), 'c.yaml': tool('s2') });
    expect(messages).toEqual([
      `${join(dir, 'b.yaml')}:2:7: name: duplicate tool name "same" in server "s1": also defined in ${join(dir, 'a.yaml')}:2`,
    ]);
    expect(groups.map((g) => [g.server, g.tools.length])).toEqual([
      ['s1', 1],
      ['s2', 1],
    ]);
  });

  it('reads the folder only (not its sub-folders), skips dot-files and non-YAML, and treats a missing folder as empty', async () => {
    const tool = (name: string) => `name: ${name}\ndescription: d\nrequest: { url: "https://example.com" }\n`;
    const loaded = await load({
      'top.yml': tool('top'),
      'nested/deep/inner.yaml': tool('inner'),
      '.hidden.yaml': tool('hidden'),
      'notes.md': '# x',
    });
    expect(loaded.messages).toEqual([]);
    expect(loaded.groups[0]!.server).toBe('capabilities');
    expect(loaded.groups[0]!.tools.map((t) => t.name).sort()).toEqual(['top']);
    // A sub-folder is loaded when it is listed itself; a folder listed twice is read once.
    const both = await loadCapabilityDirs([loaded.dir, join(loaded.dir, 'nested', 'deep'), `${loaded.dir}/.`], {});
    expect(both.problems).toEqual([]);
    expect(both.groups[0]!.tools.map((t) => t.name).sort()).toEqual(['inner', 'top']);
    const missing = await loadCapabilityDirs([join(loaded.dir, 'does-not-exist')]);
    expect(missing).toEqual({ groups: [], problems: [], warnings: [] });
  });

  it('warns (without failing) about a variable that is not set, and formats problems for the lead', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'a.yaml'),
      'name: t\ndescription: d\nrequest: { url: "https://example.com" }\nauth: { type: bearer, token: "${NOT_SET_TOKEN}" }\n',
    );
    writeFileSync(join(dir, 'b.yaml'), 'name: u\ndescription: d\nrequest: { url: "https://example.com" }\nbogus: 1\n');
    const loaded = await loadCapabilitySources([dir], {});
    expect(loaded.sources.map((s) => s.name)).toEqual(['capabilities']);
    expect(loaded.warnings).toEqual([expect.stringContaining('capabilities/t needs NOT_SET_TOKEN, which is not set')]);
    expect(loaded.problems).toEqual([`${join(dir, 'b.yaml')}:4:1: bogus: unknown key`]);
  });

  it('loads no network tool from capabilities/ by default, and validates every example in capabilities/examples/', async () => {
    const offline = await loadCapabilityDirs([join(repoRoot, 'capabilities')], {});
    expect(offline).toEqual({ groups: [], problems: [], warnings: [] });
    const loaded = await loadCapabilityDirs([join(repoRoot, 'capabilities'), join(repoRoot, 'capabilities', 'examples')], {});
    expect(loaded.problems.map(formatCapabilityProblem)).toEqual([]);
    const tools = loaded.groups.flatMap((g) => g.tools);
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'geocode_place',
        'npm_downloads',
        'npm_package_info',
        'npm_search',
        'weather_forecast',
        'wikipedia_search',
        'wikipedia_summary',
      ].sort(),
    );
    for (const tool of tools) {
      expect(tool.url).toMatch(/^https:\/\//);
      expect(tool.annotations.readOnlyHint).toBe(true);
      expect(tool.description.length).toBeGreaterThan(60);
    }
  });
});

describe('capability calls against a real HTTP server', () => {
  it('substitutes and percent-encodes path parameters; {+name} keeps slashes', async () => {
    const source = await sourceFrom(`
name: get_item
description: d
input:
  type: object
  properties: { id: { type: string }, path: { type: string } }
request:
  url: "\${BASE}/echo/items/{id}/raw/{+path}"
`);
    const result = await source.callTool('get_item', { id: 'a b/c?d#e', path: '@scope/pkg name' });
    expect(echoed(result).url).toBe('/echo/items/a%20b%2Fc%3Fd%23e/raw/@scope/pkg%20name');
    const missing = await source.callTool('get_item', { path: 'x' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvalidArgumentsError);
    expect((missing as Error).message).toBe('invalid arguments for capabilities/get_item: id: is required; nothing was sent');
  });

  it('sends only the query parameters given, lists comma-joined or exploded, constants, and defaults', async () => {
    const source = await sourceFrom(`
name: search
description: d
input:
  type: object
  properties:
    q: { type: string }
    page: { type: integer }
    tags: { type: array, items: { type: string } }
    ids: { type: array, items: { type: integer } }
    sort: { type: string, default: stars }
request:
  url: "\${BASE}/echo/search?fixed=1"
  query:
    q: "{q}"
    page: "{page}"
    tags: "{tags}"
    id: "{ids*}"
    range: "{page}-{page}"
    sort: "{sort}"
    format: json
    v: 2
`);
    const full = new URL(echoed(await source.callTool('search', { q: 'a&b c', page: 2, tags: ['x', 'y'], ids: [1, 2] })).url, 'http://x');
    expect([...full.searchParams]).toEqual([
      ['fixed', '1'],
      ['q', 'a&b c'],
      ['page', '2'],
      ['tags', 'x,y'],
      ['id', '1'],
      ['id', '2'],
      ['range', '2-2'],
      ['sort', 'stars'],
      ['format', 'json'],
      ['v', '2'],
    ]);
    const few = new URL(echoed(await source.callTool('search', { q: 'only' })).url, 'http://x');
    expect([...few.searchParams]).toEqual([
      ['fixed', '1'],
      ['q', 'only'],
      ['sort', 'stars'],
      ['format', 'json'],
      ['v', '2'],
    ]);
  });

  it('sends leftover arguments as the query of a GET without `query`', async () => {
    const source = await sourceFrom(`
name: list
description: d
input:
  type: object
  properties: { owner: { type: string }, state: { type: string }, label: { type: array } }
request:
  url: "\${BASE}/echo/{owner}/issues"
`);
    const seen = echoed(await source.callTool('list', { owner: 'me', state: 'open', label: ['a', 'b'] }));
    expect(seen.url).toBe('/echo/me/issues?state=open&label=a&label=b');
  });

  it('sets headers from templates (left out when the argument is missing), with file-level headers and defaults', async () => {
    const source = await sourceFrom(`
headers: { X-Shared: shared, X-Override: file }
name: h
description: d
input:
  type: object
  properties: { trace: { type: string }, lang: { type: string } }
request:
  url: "\${BASE}/echo/h"
  headers:
    X-Trace: "{trace}"
    X-Lang: "{lang}, en;q=0.5"
    X-Override: tool
    X-Env: "\${PLAIN_SETTING:-fallback}"
`);
    const headers = echoed(await source.callTool('h', { trace: 't-1' })).headers;
    expect(headers).toMatchObject({ 'x-trace': 't-1', 'x-shared': 'shared', 'x-override': 'tool', 'x-env': 'fallback' });
    expect(headers['x-lang']).toBeUndefined();
    expect(headers['user-agent']).toMatch(/meta-mcp-gateway/);
    expect(headers.accept).toMatch(/^application\/json/);
  });

  it('sends the leftover arguments as a JSON body, or a template with types kept, or a form, or nothing', async () => {
    const source = await sourceFrom(`
base_url: "\${BASE}"
tools:
  - name: create
    description: d
    input:
      type: object
      properties: { owner: { type: string }, dry: { type: boolean }, title: { type: string }, labels: { type: array }, meta: { type: object } }
    request:
      method: POST
      url: /echo/{owner}/items
      query: { dry_run: "{dry}" }
  - name: templated
    description: d
    input:
      type: object
      properties: { title: { type: string }, count: { type: integer }, tags: { type: array }, note: { type: string } }
    request:
      method: put
      url: /echo/t
      body:
        item: { name: "{title}", count: "{count}", tags: "{tags}", note: "{note}" }
        label: "title: {title}"
        literal: "{{not a placeholder}}"
        version: 1
  - name: form
    description: d
    input:
      type: object
      properties: { name: { type: string }, status: { type: string }, tags: { type: array } }
    request:
      method: POST
      url: /echo/form
      body_format: form
  - name: nobody
    description: d
    input: { type: object, properties: { x: { type: string } } }
    request: { method: POST, url: /echo/nobody, body: false }
`);
    const create = echoed(await source.callTool('create', { owner: 'o', dry: true, title: 'T', labels: ['a'], meta: { k: 1 } }));
    expect(create.method).toBe('POST');
    expect(create.url).toBe('/echo/o/items?dry_run=true');
    expect(create.headers['content-type']).toBe('application/json');
    expect(JSON.parse(create.body)).toEqual({ title: 'T', labels: ['a'], meta: { k: 1 } });

    const templated = echoed(await source.callTool('templated', { title: 'X', count: 3, tags: ['p', 'q'] }));
    expect(templated.method).toBe('PUT');
    expect(JSON.parse(templated.body)).toEqual({
      item: { name: 'X', count: 3, tags: ['p', 'q'] },
      label: 'title: X',
      literal: '{not a placeholder}',
      version: 1,
    });

    const form = echoed(await source.callTool('form', { name: 'rex', status: 'sold out', tags: ['a', 'b'] }));
    expect(form.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(form.body).toBe('name=rex&status=sold+out&tags=a&tags=b');

    const nobody = echoed(await source.callTool('nobody', { x: 'ignored' }));
    expect(nobody.body).toBe('');
    expect(nobody.headers['content-type']).toBeUndefined();
  });

  describe('auth from the environment; the secret never appears in a result', () => {
    const SECRET = 's3cr3t-T0ken-value';
    const cases: [string, string, (seen: Seen) => void][] = [
      ['bearer', 'auth: { type: bearer, token: "${API_TOKEN}" }', (s) => expect(s.headers.authorization).toBe(`Bearer ${SECRET}`)],
      [
        'api_key header',
        'auth: { type: api_key, name: X-Api-Key, value: "${API_TOKEN}", prefix: "Key " }',
        (s) => expect(s.headers['x-api-key']).toBe(`Key ${SECRET}`),
      ],
      [
        'api_key query',
        'auth: { type: api_key, in: query, name: api_key, value: "${API_TOKEN}" }',
        (s) => expect(new URL(s.url, 'http://x').searchParams.get('api_key')).toBe(SECRET),
      ],
      [
        'basic',
        'auth: { type: basic, username: "${API_USER}", password: "${API_TOKEN}" }',
        (s) => expect(s.headers.authorization).toBe(`Basic ${Buffer.from(`robot:${SECRET}`).toString('base64')}`),
      ],
    ];
    it.each(cases)('%s', async (label, auth, check) => {
      const env = { API_TOKEN: SECRET, API_USER: 'robot' };
      const source = await sourceFrom(`name: who\ndescription: d\nrequest: { url: "\${BASE}/echo/who" }\n${auth}\n`, env);
      const before = server.seen.length;
      const result = await source.callTool('who', {});
      check(server.seen[before]!);
      // The echo route sends the credentials back: they are scrubbed from text and structuredContent.
      const everything = JSON.stringify(result);
      expect(everything).not.toContain(SECRET);
      expect(everything).not.toContain(Buffer.from(`robot:${SECRET}`).toString('base64'));
      expect(everything).toContain('«redacted:API_TOKEN»');

      // A failing request prints its URL: with the api key masked.
      const down = await sourceFrom(`name: who\ndescription: d\nrequest: { url: "http://127.0.0.1:${closedPort}/down" }\n${auth}\n`, env);
      const failed = await down.callTool('who', {});
      expect(failed.isError).toBe(true);
      expect(text(failed)).toMatch(
        new RegExp(`^GET http://127\\.0\\.0\\.1:${closedPort}/down(\\?api_key=\\*\\*\\*)? failed: connect ECONNREFUSED`),
      );
      if (label === 'api_key query') expect(text(failed)).toContain('?api_key=*** failed');
      expect(JSON.stringify(failed)).not.toContain(SECRET);
    });

    it('an unset variable fails the call naming it, and nothing is sent', async () => {
      const source = await sourceFrom(
        'name: who\ndescription: d\nrequest: { url: "${BASE}/echo/who" }\nauth: { type: bearer, token: "${MISSING_TOKEN}" }\n',
      );
      const before = server.seen.length;
      const result = await source.callTool('who', {});
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(
        /^capabilities\/who cannot be called: environment variable MISSING_TOKEN is not set where the gateway runs \(see .*tool\.yaml\)$/,
      );
      expect(server.seen.length).toBe(before);
    });

    it('a variable in the URL is shown as written, never expanded, in error text', async () => {
      const source = await sourceFrom(
        `name: t\ndescription: d\nrequest: { url: "http://127.0.0.1:${closedPort}/bot\${BOT_TOKEN}/send" }\n`,
        { BOT_TOKEN: 'bot-secret-123' },
      );
      const result = await source.callTool('t', {});
      expect(text(result)).toMatch(
        new RegExp(`^GET http://127\\.0\\.0\\.1:${closedPort}/bot\\$\\{BOT_TOKEN\\}/send failed: connect ECONNREFUSED`),
      );
      expect(JSON.stringify(result)).not.toContain('bot-secret-123');
    });
  });

  it('maps the response: a JSON path, fields, text, structuredContent only for objects', async () => {
    const source = await sourceFrom(`
base_url: "\${BASE}"
tools:
  - { name: whole, description: d, request: { url: /data } }
  - { name: items, description: d, request: { url: /data }, response: { path: "data.items", fields: [id, name, "tags[0]"] } }
  - { name: first, description: d, request: { url: /data }, response: { path: "$.data.items[-1]" } }
  - { name: names, description: d, request: { url: /data }, response: { path: "data.items[*].name" } }
  - { name: odd, description: d, request: { url: /data }, response: { path: "['odd.key'].value" } }
  - { name: missing, description: d, request: { url: /data }, response: { path: data.nothing } }
  - { name: text, description: d, request: { url: /text } }
  - { name: textpath, description: d, request: { url: /text }, response: { path: a } }
  - { name: big, description: d, request: { url: /big }, response: { max_chars: 200 } }
  - { name: empty, description: d, request: { url: /no-content } }
`);
    const whole = await source.callTool('whole', {});
    expect(whole.structuredContent).toMatchObject({ data: { total: 2 } });
    expect(JSON.parse(text(whole))).toEqual(whole.structuredContent);

    const items = await source.callTool('items', {});
    expect(JSON.parse(text(items))).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two', 'tags[0]': 't' },
    ]);
    expect(items.structuredContent).toBeUndefined(); // a list is not an object

    expect((await source.callTool('first', {})).structuredContent).toEqual({ id: 2, name: 'two', tags: ['t'] });
    expect(text(await source.callTool('names', {}))).toBe('["one","two"]');
    expect(text(await source.callTool('odd', {}))).toBe('42');

    const missing = await source.callTool('missing', {});
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/^HTTP 200 OK, but the response has nothing at response\.path "data\.nothing": \{"data"/);

    expect(await source.callTool('text', {})).toEqual({ content: [{ type: 'text', text: 'plain words' }] });
    expect((await source.callTool('textpath', {})).isError).toBe(true);

    const big = await source.callTool('big', {});
    expect(text(big)).toMatch(/^\[\{"i":0\}.*\n… \[cut: \d+ more characters; narrow the request/s);
    expect(text(big).split('\n')[0]!.length).toBe(200);
    expect(text(await source.callTool('empty', {}))).toBe('HTTP 204 No Content: no content');
  });

  it('answers a non-2xx status as isError with the status and a trimmed body', async () => {
    const source = await sourceFrom(`
base_url: "\${BASE}"
tools:
  - { name: s404, description: d, request: { url: /status/404 } }
  - { name: s429, description: d, request: { url: /status/429 } }
  - { name: html, description: d, request: { url: /html-error } }
  - { name: route, description: d, request: { url: /nowhere } }
`);
    const notFound = await source.callTool('s404', {});
    expect(notFound.isError).toBe(true);
    expect(text(notFound)).toMatch(/^HTTP 404 Not Found: something went wrong: x{900,}…$/);
    expect(text(notFound).length).toBeLessThan(1100);
    expect(text(await source.callTool('s429', {}))).toMatch(/^HTTP 429 Too Many Requests \(retry after 7 s\): something went wrong/);
    expect(text(await source.callTool('html', {}))).toBe('HTTP 502 Bad Gateway: Bad Gateway 502 Bad Gateway upstream failed');
    expect(text(await source.callTool('route', {}))).toBe('HTTP 404 Not Found: {"error":"no such route","path":"/nowhere"}');
  });

  it('throws CallTimeoutError after timeout_ms, and the request is abandoned', async () => {
    const source = await sourceFrom('name: slow\ndescription: d\nrequest: { url: "${BASE}/hang" }\ntimeout_ms: 100\n');
    const closedBefore = server.closedEarly;
    const error = await source.callTool('slow', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect((error as CallTimeoutError).timeoutMs).toBe(100);
    expect(source.busy).toBe(false);
    await expect.poll(() => server.closedEarly).toBe(closedBefore + 1);
  });

  it('a cancellation by the caller aborts the request', async () => {
    const source = await sourceFrom('name: slow\ndescription: d\nrequest: { url: "${BASE}/hang" }\n');
    const closedBefore = server.closedEarly;
    const seenBefore = server.seen.length;
    const controller = new AbortController();
    const call = source.callTool('slow', {}, { signal: controller.signal });
    await expect.poll(() => server.seen.length).toBe(seenBefore + 1);
    expect(source.busy).toBe(true);
    controller.abort(new Error('client cancelled'));
    await expect(call).rejects.toThrow('client cancelled');
    await expect.poll(() => server.closedEarly).toBe(closedBefore + 1);
  });

  it('follows redirects, keeping credentials only on the same origin', async () => {
    const env = { API_TOKEN: 'redirect-secret-1' };
    const same = await sourceFrom(
      `name: r\ndescription: d\nrequest: { url: "\${BASE}/redirect", query: { to: "/echo/landed" } }\nauth: { type: bearer, token: "\${API_TOKEN}" }\n`,
      env,
    );
    const landed = echoed(await same.callTool('r', {}));
    expect(landed.url).toBe('/echo/landed');
    expect(landed.headers.authorization).toBe('Bearer «redacted:API_TOKEN»');

    const cross = await sourceFrom(
      `name: r\ndescription: d\nrequest: { url: "\${BASE}/redirect", query: { to: "${other.url}/echo/elsewhere" } }\nauth: { type: bearer, token: "\${API_TOKEN}" }\nheaders: { X-Custom-Key: "\${API_TOKEN}", X-Plain: kept }\n`,
      env,
    );
    const before = other.seen.length;
    expect(echoed(await cross.callTool('r', {})).url).toBe('/echo/elsewhere');
    const seen = other.seen[before]!;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-custom-key']).toBeUndefined();
    expect(seen.headers['x-plain']).toBe('kept');
  });

  it('takes annotations from the method unless the file says otherwise, and publishes the tool list', async () => {
    const source = await sourceFrom(`
server: api
server_description: A test API
base_url: "\${BASE}"
tools:
  - { name: get, description: d, request: { method: GET, url: "/echo/{id}" } }
  - { name: create, description: d, request: { method: POST, url: /echo } }
  - { name: replace, description: d, request: { method: PUT, url: /echo } }
  - { name: remove, description: d, request: { method: DELETE, url: /echo } }
  - name: search
    title: Search things
    description: d
    request: { method: POST, url: /echo/search }
    annotations: { readOnlyHint: true, idempotentHint: true }
`);
    const tools = Object.fromEntries((await source.listTools()).map((t) => [t.name, t]));
    expect(tools.get!.annotations).toEqual({ readOnlyHint: true, openWorldHint: true });
    expect(tools.get!.inputSchema).toEqual({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] });
    expect(tools.create!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(tools.replace!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(tools.remove!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(tools.search).toMatchObject({
      title: 'Search things',
      annotations: { title: 'Search things', readOnlyHint: true, idempotentHint: true, destructiveHint: false },
    });
    await expect.poll(() => source.status().state).toBe('ready'); // after the DNS check of 127.0.0.1
    expect(source.status()).toEqual({
      name: 'api',
      description: 'A test API',
      transport: 'http-rest',
      state: 'ready',
      tools: 5,
      circuit: 'closed',
    });
    expect(source.cachedTools).toHaveLength(5);
    expect((await source.callTool('nope', {})).isError).toBe(true);
  });

  it('has a fingerprint that follows the definitions, not the file name or the environment', async () => {
    const yaml = 'name: t\ndescription: d\nrequest: { url: "https://example.com/x" }\nauth: { type: bearer, token: "${TOKEN}" }\n';
    const a = await load({ 'one.yaml': yaml }, { TOKEN: 'a' });
    const b = await load({ 'two.yaml': yaml }, { TOKEN: 'b' });
    const c = await load({ 'one.yaml': yaml.replace('/x', '/y') });
    const fp = (l: typeof a) => new CapabilitySource(l.groups[0]!).fingerprint;
    expect(fp(a)).toBe(fp(b));
    expect(fp(a)).not.toBe(fp(c));
  });
});

describe('hardening: arguments, origins, network policy, secrets, limits, failsafes', () => {
  it('checks arguments against the input schema before any request (pattern, enum, min/max, required, type)', async () => {
    const source = await sourceFrom(`
name: find
description: d
input:
  type: object
  properties:
    code: { type: string, pattern: "^[A-Z]{3}$" }
    mode: { type: string, enum: [fast, slow] }
    size: { type: integer, minimum: 1, maximum: 50 }
    tags: { type: array, items: { type: string }, maxItems: 2 }
  required: [code]
request: { url: "\${BASE}/echo/find" }
`);
    const before = server.seen.length;
    const error = await source.callTool('find', { code: 'abc', mode: 'medium', size: 99, tags: ['a', 'b', 'c'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    const problems = (error as InvalidArgumentsError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'code', message: 'must match pattern "^[A-Z]{3}$"' },
        { path: 'mode', message: 'must be one of "fast", "slow"' },
        { path: 'size', message: 'must be <= 50' },
        { path: 'tags', message: 'must NOT have more than 2 items' },
      ]),
    );
    expect((error as Error).message).toMatch(/^invalid arguments for capabilities\/find: code: must match pattern/);
    const missing = await source.callTool('find', { size: '3' }).catch((e: unknown) => e);
    expect((missing as InvalidArgumentsError).problems).toEqual([
      { path: 'code', message: 'is required' },
      { path: 'size', message: 'must be integer' },
    ]);
    expect(server.seen.length).toBe(before); // nothing was sent
    expect(echoed(await source.callTool('find', { code: 'ABC', mode: 'fast', size: 3 })).url).toBe('/echo/find?code=ABC&mode=fast&size=3');
  });

  it('rejects a placeholder that could decide the host, at load time', async () => {
    const tool = (url: string) =>
      `name: t\ndescription: d\ninput: { properties: { region: { type: string }, path: { type: string } } }\nrequest: { url: "${url}" }\n`;
    const { messages, groups } = await load({
      'a.yaml': tool('https://{+region}.api.example.com/x'),
      'b.yaml': tool('https://{region}.api.example.com/x'),
      'c.yaml': tool('https://api.example.com{+path}'),
      'd.yaml': tool('${BASE}{+path}'),
      'ok.yaml': tool('${BASE}/{+path}').replace('name: t', 'name: fine'),
    });
    expect(groups.flatMap((g) => g.tools.map((t) => t.name))).toEqual(['fine']);
    expect(messages).toHaveLength(4);
    for (const f of ['a', 'b', 'c']) {
      expect(messages).toContainEqual(
        expect.stringMatching(new RegExp(`${f}\\.yaml:4:\\d+: request\\.url: \\{(region|path)\\} is in the host part of the URL`)),
      );
    }
    expect(messages).toContainEqual(
      expect.stringMatching(/d\.yaml:4:\d+: request\.url: \{path\} follows the environment's base URL directly/),
    );
  });

  it('rejects path values with dot segments or encoded dots and slashes; nothing is sent', async () => {
    const source = await sourceFrom(`
name: get
description: d
input: { type: object, properties: { id: { type: string }, rest: { type: string } } }
request: { url: "\${BASE}/echo/items/{id}/files/{+rest}" }
`);
    const before = server.seen.length;
    for (const [id, rest] of [
      ['..', 'x'],
      ['.', 'x'],
      ['a', 'b/../../admin'],
      ['a', '%2e%2e/admin'],
      ['a', 'b%2Fc'],
      ['%2E%2E', 'x'],
      ['a', 'b\\..\\c'],
    ]) {
      const error = await source.callTool('get', { id, rest }).catch((e: unknown) => e);
      expect(error, `${id} ${rest}`).toBeInstanceOf(InvalidArgumentsError);
      expect((error as Error).message).toMatch(/is not allowed in a URL path/);
    }
    expect(server.seen.length).toBe(before);
    expect(echoed(await source.callTool('get', { id: 'a.b', rest: 'c/d..e/f' })).url).toBe('/echo/items/a.b/files/c/d..e/f');
  });

  it('checks the final origin before credentials are attached (a template that slipped past load)', async () => {
    const source = await sourceFrom(
      'name: t\ndescription: d\ninput: { properties: { path: { type: string } } }\nrequest: { url: "${BASE}/{+path}" }\nauth: { type: bearer, token: "${API_TOKEN}" }\n',
      { API_TOKEN: 'origin-secret-1' },
    );
    // As if the file had said "${BASE}{+path}": an argument starting with "@" would make the URL's host its own.
    (source.group.tools[0] as { url: string }).url = '${BASE}{+path}';
    const before = other.seen.length;
    const error = await source.callTool('t', { path: `@${new URL(other.url).host}/echo/stolen` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect((error as Error).message).toContain(`would send the request to http://${new URL(other.url).host} instead of ${server.url}`);
    expect(other.seen.length).toBe(before);
  });

  it('refuses loopback and private addresses unless the file sets allow_private_network (literal and resolved)', async () => {
    const port = new URL(server.url).port;
    const before = server.seen.length;
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
      const source = await sourceFrom(`name: t\ndescription: d\nrequest: { url: "http://${host}:${port}/echo/x" }\n`, {}, 'default');
      const result = await source.callTool('t', {});
      expect(result.isError, host).toBe(true);
      expect(text(result)).toMatch(
        /(is|resolves to 127\.0\.0\.1,) a loopback address; a capability may call it only if its file sets allow_private_network: true$/,
      );
      expect(source.status().state).toBe('error');
      expect(source.status().error).toMatch(/a loopback address/);
      expect(source.status().circuit).toBe('closed'); // a refusal is not the API's fault
    }
    expect(server.seen.length).toBe(before);
    const allowed = await sourceFrom(`name: t\ndescription: d\nrequest: { url: "http://localhost:${port}/echo/x" }\n`);
    expect(echoed(await allowed.callTool('t', {})).url).toBe('/echo/x');
  });

  it('classifies addresses: private, loopback, link-local, unique-local and IPv4 inside IPv6 are refused; public ones pass', () => {
    const refused = [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.8.8.8',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '::',
      '::1',
      'fe80::1',
      'febf::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '::ffff:0:0',
      '64:ff9b::10.0.0.1',
      '[::1]',
    ];
    const allowed = ['8.8.8.8', '172.32.0.1', '100.128.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', 'fec0::1'];
    expect(refused.filter((a) => privateAddressKind(a) === undefined)).toEqual([]);
    expect(allowed.filter((a) => privateAddressKind(a) !== undefined)).toEqual([]);
  });

  it('follows a redirect to another origin without the credentials, in headers or in the query', async () => {
    const env = { API_TOKEN: 'query-secret-42' };
    const source = await sourceFrom(
      `name: r\ndescription: d\nrequest:\n  url: "\${BASE}/redirect"\n  query: { to: "${other.url}/echo/away?leak=\${API_TOKEN}&keep=1" }\nauth: { type: api_key, in: query, name: api_key, value: "\${API_TOKEN}" }\n`,
      env,
    );
    const before = other.seen.length;
    const landed = echoed(await source.callTool('r', {}));
    expect(landed.url).toBe('/echo/away?keep=1');
    expect(other.seen[before]!.url).toBe('/echo/away?keep=1');
  });

  it('skips a capability file over limits.max_file_bytes with a clear problem', async () => {
    const tool = (name: string) => `name: ${name}\ndescription: d\nrequest: { url: "https://example.com" }\n`;
    const dir = tempDir();
    writeFileSync(join(dir, 'small.yaml'), tool('small'));
    writeFileSync(join(dir, 'big.yaml'), `${tool('big')}# ${'x'.repeat(3000)}\n`);
    const loaded = await loadCapabilityDirs([dir], {}, { maxFileBytes: 2048 });
    expect(loaded.groups.flatMap((g) => g.tools.map((t) => t.name))).toEqual(['small']);
    expect(loaded.problems.map(formatCapabilityProblem)).toEqual([
      expect.stringMatching(/big\.yaml: \(top level\): the file is over limits\.max_file_bytes \(2048 bytes\); it was skipped$/),
    ]);
    // The default is 1 MiB: the same file loads.
    expect((await loadCapabilityDirs([dir], {})).problems).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')(
    'skips what is not a regular file, unread: an endless device, a pipe with no writer (through symlinks)',
    async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'small.yaml'), 'name: small\ndescription: d\nrequest: { url: "https://example.com" }\n');
      symlinkSync('/dev/zero', join(dir, 'zero.yaml')); // size 0, endless
      execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
      symlinkSync(join(dir, 'pipe.yaml'), join(dir, 'piped.yaml'));
      const loaded = await loadCapabilityDirs([dir], {}, { maxFileBytes: 4096 });
      expect(loaded.groups.flatMap((g) => g.tools.map((t) => t.name))).toEqual(['small']);
      const problems = loaded.problems.map(formatCapabilityProblem);
      // Listed (symlinks are followed), and skipped unread: neither is a regular file.
      expect(problems).toEqual([
        expect.stringMatching(/piped\.yaml: \(top level\): not a regular file/),
        expect.stringMatching(/zero\.yaml: \(top level\): not a regular file/),
      ]);
    },
  );

  it('registers auth values for redaction: an error body that echoes the token comes back «redacted:NAME»', async () => {
    const SECRET = 'echoed-secret-Tok3n-987';
    const dir = tempDir();
    writeFileSync(
      join(dir, 'who.yaml'),
      'allow_private_network: true\nname: who\ndescription: d\nrequest: { url: "${BASE}/unauthorized" }\nauth: { type: bearer, token: "${WHO_TOKEN}" }\n',
    );
    expect(redact(`x ${SECRET} x`)).toBe(`x ${SECRET} x`);
    const loaded = await loadCapabilitySources([dir], { BASE: server.url, WHO_TOKEN: SECRET });
    expect(redact(`x ${SECRET} x`)).toBe('x «redacted:WHO_TOKEN» x'); // the gateway-wide registry knows it
    const result = await loaded.sources[0]!.callTool('who', {});
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('HTTP 401 Unauthorized: {"error":"bad credentials","got":"Bearer «redacted:WHO_TOKEN»"}');
  });

  it('shows a host that cannot be resolved, and a closed port after a failed call, as error with the reason', async () => {
    const unresolvable = await sourceFrom(
      'name: t\ndescription: d\nrequest: { url: "https://api.capability-test.invalid/x" }\n',
      {},
      'default',
    );
    expect(unresolvable.status().state).toBe('starting'); // asking starts the check; nothing is known yet
    await expect.poll(() => unresolvable.status().state).toBe('error');
    expect(unresolvable.status().error).toBe('api.capability-test.invalid: cannot resolve the host name (ENOTFOUND)');

    const closed = await sourceFrom(`name: t\ndescription: d\nrequest: { url: "http://127.0.0.1:${closedPort}/x" }\n`);
    await expect.poll(() => closed.status().state).toBe('ready');
    expect(closed.status()).toMatchObject({ state: 'ready', circuit: 'closed' });
    expect(closed.status().error).toBeUndefined();
    expect((await closed.callTool('t', {})).isError).toBe(true);
    expect(closed.status()).toMatchObject({ state: 'error', error: expect.stringMatching(/^127\.0\.0\.1: connect ECONNREFUSED/) });

    // Two hosts, one down: ready, with the error naming the tools that cannot work.
    const mixed = await sourceFrom(`
base_url: "\${BASE}"
tools:
  - { name: up, description: d, request: { url: /echo/up } }
  - { name: down, description: d, request: { url: "https://down.capability-test.invalid/x" } }
`);
    mixed.status();
    await expect
      .poll(() => mixed.status().error)
      .toBe('down.capability-test.invalid: cannot resolve the host name (ENOTFOUND) (down cannot work)');
    expect(mixed.status().state).toBe('ready');
  });

  it('runs calls through a CallGuard per file: the circuit opens after repeated network failures, rate_limit answers at once', async () => {
    const source = await sourceFrom(
      `name: t\ndescription: d\ncircuit_breaker: { failures: 2, reset_ms: 600000 }\nrequest: { url: "http://127.0.0.1:${closedPort}/x" }\n`,
    );
    expect((await source.callTool('t', {})).isError).toBe(true);
    expect((await source.callTool('t', {})).isError).toBe(true);
    expect(source.status().circuit).toBe('open');
    await expect(source.callTool('t', {})).rejects.toBeInstanceOf(CircuitOpenError);

    const limited = await sourceFrom(
      'name: t\ndescription: d\nrate_limit: { calls: 1, per_ms: 600000 }\nrequest: { url: "${BASE}/echo/once" }\n',
    );
    echoed(await limited.callTool('t', {}));
    await expect(limited.callTool('t', {})).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('list_servers through the gateway shows an unreachable capability server as error with its reason', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'offline.yaml'),
      'server: offline_api\nname: t\ndescription: d\nrequest: { url: "https://api.capability-test.invalid/x" }\n',
    );
    const gateway = await startTestGateway({ capability_dirs: [dir] });
    const client = await connectClient('v2-2026', gateway.url);
    try {
      const servers = async () =>
        ((await client.call('list_servers')).structuredContent as { servers: Array<Record<string, unknown>> }).servers;
      await expect.poll(async () => (await servers()).find((s) => s.name === 'offline_api')?.state).toBe('error');
      expect((await servers()).find((s) => s.name === 'offline_api')).toMatchObject({
        transport: 'http-rest',
        error: 'api.capability-test.invalid: cannot resolve the host name (ENOTFOUND)',
      });
    } finally {
      await client.close();
      await gateway.close();
    }
  });
});
