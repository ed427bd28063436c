import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCapCommand } from '../src/capabilities/cli.js';
import { formatCapabilityProblem, loadCapabilityDirs } from '../src/capabilities/load.js';
import { type ImportedFile, importOpenApi, OpenApiImportError, writeCapabilities } from '../src/capabilities/openapi.js';
import { CapabilitySource } from '../src/capabilities/source.js';
import { repoRoot } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'openapi');
const PETSTORE3 = join(fixtures, 'petstore3.json');
const SWAGGER2 = join(fixtures, 'petstore-swagger2.yaml');

/** A local stand-in for petstore3.swagger.io: serves the spec at /api/v3/openapi.json and mimics two endpoints. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let origin = '';
const seen: Seen[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  const spec = readFileSync(PETSTORE3, 'utf8');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const url = new URL(req.url!, origin);
      if (url.pathname === '/api/v3/openapi.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(spec);
      }
      const pet = url.pathname.match(/^\/api\/v3\/pet\/(\d+)$/);
      if (pet && req.method === 'GET') {
        if (req.headers.api_key !== 'special-key') return json(401, { code: 401, message: 'missing or wrong api_key' });
        if (pet[1] !== '10') return json(404, { code: 1, type: 'error', message: 'Pet not found' });
        return json(200, { id: 10, name: 'doggie', category: { id: 1, name: 'Dogs' }, photoUrls: [], tags: [], status: 'available' });
      }
      if (url.pathname === '/api/v3/pet' && req.method === 'POST') return json(200, { id: 99, ...JSON.parse(body) });
      if (url.pathname === '/api/v3/pet/findByStatus') return json(200, [{ id: 1, name: 'a', status: url.searchParams.get('status') }]);
      json(404, { message: 'not here' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cap-import-'));
  dirs.push(dir);
  return dir;
}

function file(files: ImportedFile[], path: string): Record<string, unknown> {
  const found = files.find((f) => f.path === path);
  expect(found, `${path} among ${files.map((f) => f.path).join(', ')}`).toBeDefined();
  return parseYaml(found!.yaml) as Record<string, unknown>;
}

/** Write the files, load them back like the gateway does, and expect no problem at all. */
async function loadBack(files: ImportedFile[], env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  await writeCapabilities(dir, files);
  const loaded = await loadCapabilityDirs([dir], env);
  expect(loaded.problems.map(formatCapabilityProblem)).toEqual([]);
  return { dir, ...loaded };
}

describe('OpenAPI import: Petstore 3 (OpenAPI 3.0)', () => {
  it('writes one capability per operation, named by operationId in snake_case', async () => {
    const { files, warnings, server: name, envVars } = await importOpenApi(PETSTORE3, {});
    expect(name).toBe('petstore');
    expect(files.map((f) => f.path).sort()).toEqual(
      [
        'add_pet',
        'create_user',
        'create_users_with_list_input',
        'delete_order',
        'delete_pet',
        'delete_user',
        'find_pets_by_status',
        'find_pets_by_tags',
        'get_inventory',
        'get_order_by_id',
        'get_pet_by_id',
        'get_user_by_name',
        'login_user',
        'logout_user',
        'place_order',
        'update_pet',
        'update_pet_with_form',
        'update_user',
      ].map((n) => `${n}.yaml`),
    );
    // The octet-stream upload cannot be sent from JSON arguments: skipped, with a warning.
    expect(warnings).toContainEqual(
      expect.stringMatching(/^uploadFile: request body as application\/octet-stream is not supported.*skipped$/),
    );
    expect(warnings).toContainEqual(expect.stringContaining('petstore_auth is oauth2'));
    expect(envVars).toEqual(['PETSTORE_API_KEY', 'PETSTORE_AUTH']);

    const get = file(files, 'get_pet_by_id.yaml');
    expect(get).toMatchObject({
      server: 'petstore',
      name: 'get_pet_by_id',
      title: 'Find pet by ID',
      description: 'Find pet by ID.\n\nReturns a single pet.',
    });
    expect(files.find((f) => f.path === 'get_pet_by_id.yaml')!.yaml).toMatch(
      /^# Imported by `mcp-gateway cap import` from .*petstore3\.json\n# Swagger Petstore - OpenAPI 3\.0 1\.0\.27: GET \/pet\/\{petId\} \(getPetById\)\n/,
    );
  });

  it('merges path, query and header parameters and requestBody properties into the input schema', async () => {
    const { files } = await importOpenApi(PETSTORE3, {});
    const form = file(files, 'update_pet_with_form.yaml');
    expect(form.input).toEqual({
      type: 'object',
      properties: {
        petId: { type: 'integer', format: 'int64', description: 'ID of pet that needs to be updated' },
        name: { type: 'string', description: 'Name of pet that needs to be updated' },
        status: { type: 'string', description: 'Status of pet that needs to be updated' },
      },
      required: ['petId'],
    });
    expect(form.request).toEqual({
      method: 'POST',
      url: '${PETSTORE_BASE_URL}/api/v3/pet/{petId}',
      query: { name: '{name}', status: '{status}' },
      body: false,
    });

    const del = file(files, 'delete_pet.yaml');
    expect(Object.keys((del.input as { properties: object }).properties)).toEqual(['api_key', 'petId']);
    expect(del.request).toMatchObject({ method: 'DELETE', headers: { api_key: '{api_key}' } });

    const add = file(files, 'add_pet.yaml');
    const input = add.input as { properties: Record<string, Record<string, unknown>>; required: string[] };
    expect(Object.keys(input.properties)).toEqual(['id', 'name', 'category', 'photoUrls', 'tags', 'status']);
    expect(input.required).toEqual(['name', 'photoUrls']);
    // $refs resolved; OpenAPI-only keywords (xml, example) turned into JSON Schema.
    expect(input.properties.category).toEqual({
      type: 'object',
      properties: { id: { type: 'integer', format: 'int64', examples: [1] }, name: { type: 'string', examples: ['Dogs'] } },
    });
    expect(JSON.stringify(add)).not.toMatch(/"xml"|"\$ref"|"example"/);
    expect(add.request).toEqual({
      method: 'POST',
      url: '${PETSTORE_BASE_URL}/api/v3/pet',
      body: { id: '{id}', name: '{name}', category: '{category}', photoUrls: '{photoUrls}', tags: '{tags}', status: '{status}' },
    });

    // A body that is a list becomes one `body` argument.
    const list = file(files, 'create_users_with_list_input.yaml');
    expect((list.input as { properties: Record<string, { type: string }> }).properties.body!.type).toBe('array');
    expect((list.request as { body: string }).body).toBe('{body}');
  });

  it('maps security schemes to environment references', async () => {
    const { files } = await importOpenApi(PETSTORE3, {});
    expect(file(files, 'get_pet_by_id.yaml').auth).toEqual({
      type: 'api_key',
      in: 'header',
      name: 'api_key',
      value: '${PETSTORE_API_KEY}',
    });
    expect(file(files, 'get_inventory.yaml').auth).toEqual({
      type: 'api_key',
      in: 'header',
      name: 'api_key',
      value: '${PETSTORE_API_KEY}',
    });
    expect(file(files, 'find_pets_by_status.yaml').auth).toEqual({ type: 'bearer', token: '${PETSTORE_AUTH}' });
    expect(file(files, 'place_order.yaml').auth).toBeUndefined();
  });

  it('takes the base URL from servers: relative to the spec URL, an env reference for a local file, or --base-url', async () => {
    const local = await importOpenApi(PETSTORE3, {});
    expect(local.warnings).toContainEqual(
      expect.stringContaining('"/api/v3" is relative and the spec is a local file: the URLs start with ${PETSTORE_BASE_URL}'),
    );
    const remote = await importOpenApi(`${origin}/api/v3/openapi.json`, {});
    expect((file(remote.files, 'get_pet_by_id.yaml').request as { url: string }).url).toBe(`${origin}/api/v3/pet/{petId}`);
    const given = await importOpenApi(PETSTORE3, { baseUrl: 'https://petstore3.swagger.io/api/v3/' });
    expect((file(given.files, 'get_pet_by_id.yaml').request as { url: string }).url).toBe(
      'https://petstore3.swagger.io/api/v3/pet/{petId}',
    );
    expect(given.warnings.join('\n')).not.toContain('relative');
  });

  it('--include keeps operations by tag or operationId; --prefix goes before names', async () => {
    const store = await importOpenApi(PETSTORE3, { include: ['store'] });
    expect(store.files.map((f) => f.path).sort()).toEqual([
      'delete_order.yaml',
      'get_inventory.yaml',
      'get_order_by_id.yaml',
      'place_order.yaml',
    ]);

    const some = await importOpenApi(PETSTORE3, { include: ['getPetById', 'find_pets_by_status', 'noSuchThing'], prefix: 'ps' });
    expect(some.files.map((f) => f.path).sort()).toEqual(['ps_find_pets_by_status.yaml', 'ps_get_pet_by_id.yaml']);
    expect(some.server).toBe('ps');
    expect(file(some.files, 'ps_get_pet_by_id.yaml')).toMatchObject({
      name: 'ps_get_pet_by_id',
      server: 'ps',
      auth: { value: '${PS_API_KEY}' },
    });
    expect(some.warnings).toContain('--include noSuchThing: no operation has this tag or operationId');
  });

  it('writes files that load back through loadCapabilityDirs with no problem, with annotations from the method', async () => {
    const { files } = await importOpenApi(PETSTORE3, {});
    const { groups, dir } = await loadBack(files);
    expect(groups.map((g) => [g.server, g.tools.length])).toEqual([['petstore', 18]]);
    expect(groups[0]!.description).toBe(
      'Swagger Petstore - OpenAPI 3.0 (1.0.27): This is a sample Pet Store Server based on the OpenAPI 3.0 specification.',
    );
    const tools = Object.fromEntries(groups[0]!.tools.map((t) => [t.name, t]));
    expect(tools.get_pet_by_id!.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools.delete_pet!.annotations).toMatchObject({ destructiveHint: true });
    expect(tools.update_user!.annotations).toMatchObject({ idempotentHint: true });
    expect(tools.get_pet_by_id!.inputSchema.required).toEqual(['petId']);

    // Existing files are not replaced unless asked.
    await expect(writeCapabilities(dir, files)).rejects.toThrow(/18 file\(s\) exist already \(use --force/);
    await writeCapabilities(dir, files, { overwrite: true });
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary files left
  });

  it('a tool imported from the spec URL calls a server that mimics petstore', async () => {
    const { files } = await importOpenApi(`${origin}/api/v3/openapi.json`, { include: ['pet'] });
    // The mimic runs on loopback, which capabilities may call only when their file says so.
    const { groups } = await loadBack(files.map((f) => ({ ...f, yaml: `allow_private_network: true\n${f.yaml}` })));
    const source = new CapabilitySource(groups[0]!, { env: { PETSTORE_API_KEY: 'special-key', PETSTORE_AUTH: 'oauth-token-xyz' } });

    const before = seen.length;
    const pet = await source.callTool('get_pet_by_id', { petId: 10 });
    expect(pet.isError).toBeFalsy();
    expect(pet.structuredContent).toEqual({
      id: 10,
      name: 'doggie',
      category: { id: 1, name: 'Dogs' },
      photoUrls: [],
      tags: [],
      status: 'available',
    });
    expect(seen[before]).toMatchObject({ method: 'GET', url: '/api/v3/pet/10', headers: { api_key: 'special-key' } });

    const missing = await source.callTool('get_pet_by_id', { petId: 7 });
    expect(missing).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'HTTP 404 Not Found: {"code":1,"type":"error","message":"Pet not found"}' }],
    });

    const added = await source.callTool('add_pet', { name: 'rex', photoUrls: ['http://x/1.png'], status: 'pending' });
    expect(added.structuredContent).toEqual({ id: 99, name: 'rex', photoUrls: ['http://x/1.png'], status: 'pending' });
    expect(seen.at(-1)!.headers.authorization).toBe('Bearer oauth-token-xyz');
    expect(JSON.stringify(added)).not.toContain('oauth-token-xyz');

    const found = await source.callTool('find_pets_by_status', {}); // status has default: available
    expect(JSON.parse((found.content[0] as { text: string }).text)).toEqual([{ id: 1, name: 'a', status: 'available' }]);
  });
});

describe('OpenAPI import: Swagger 2.0 (YAML)', () => {
  it('imports operations with host/basePath, body and form parameters, and collectionFormat', async () => {
    const { files, warnings, server: name } = await importOpenApi(SWAGGER2, {});
    expect(name).toBe('petstore');
    expect(files.map((f) => f.path).sort()).toEqual(
      [
        'add_pet',
        'delete_pet',
        'find_pets_by_status',
        'get_pet_by_id',
        'login_user',
        'place_order',
        'update_pet',
        'update_pet_with_form',
      ].map((n) => `${n}.yaml`),
    );
    expect(warnings).toContainEqual(expect.stringMatching(/^uploadFile: file uploads .* not supported; operation skipped$/));

    expect(file(files, 'get_pet_by_id.yaml')).toMatchObject({
      request: { method: 'GET', url: 'https://petstore.swagger.io/v2/pet/{petId}' },
      auth: { type: 'api_key', in: 'header', name: 'api_key', value: '${PETSTORE_API_KEY}' },
      input: { properties: { petId: { type: 'integer', format: 'int64' } }, required: ['petId'] },
    });
    expect(file(files, 'find_pets_by_status.yaml')).toMatchObject({
      input: { properties: { status: { type: 'array', items: { type: 'string', enum: ['available', 'pending', 'sold'] } } } },
      request: { query: { status: '{status*}' } },
    });
    expect(file(files, 'update_pet_with_form.yaml').request).toEqual({
      method: 'POST',
      url: 'https://petstore.swagger.io/v2/pet/{petId}',
      body: { name: '{name}', status: '{status}' },
      body_format: 'form',
    });
    expect(file(files, 'add_pet.yaml').input).toMatchObject({ required: ['name', 'photoUrls'] });
    expect(file(files, 'login_user.yaml')).toMatchObject({ request: { query: { username: '{username}', password: '{password}' } } });
    await loadBack(files);
  });
});

describe('cap import / cap validate commands', () => {
  function io() {
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
    };
    return { out, io };
  }

  it('imports into a folder, then validates it', async () => {
    const dir = join(tempDir(), 'caps');
    const a = io();
    expect(await runCapCommand(['import', SWAGGER2, '--output', dir, '--include', 'pet,store'], a.io)).toBe(0);
    expect(a.out.stdout).toContain(`7 capabilities for server "petstore" written to ${dir}`);
    expect(a.out.stdout).toContain('Their auth reads PETSTORE_API_KEY, PETSTORE_AUTH');
    expect(a.out.stderr).toContain('warning: uploadFile');

    const again = io();
    expect(await runCapCommand(['import', SWAGGER2, '-o', dir], again.io)).toBe(1);
    expect(again.out.stderr).toMatch(/exist already \(use --force/);

    const check = io();
    expect(await runCapCommand(['validate', dir], check.io)).toBe(0);
    expect(check.out.stdout).toBe(`${dir}: ok (7 tools in 1 server: petstore)\n`);
  });

  it('validate compiles input schemas: one that is not JSON Schema is a problem; the shipped examples pass', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'bad.yaml'),
      'name: bad_schema\ndescription: d\ninput: { type: object, properties: { q: { type: string, pattern: "([unclosed" } } }\nrequest: { url: "https://example.com/{q}" }\n',
    );
    const bad = io();
    expect(await runCapCommand(['validate', dir], bad.io)).toBe(2);
    expect(bad.out.stderr).toMatch(/bad\.yaml: bad_schema: the tool's input schema is not valid JSON Schema: Invalid regular expression/);
    const examples = io();
    expect(await runCapCommand(['validate', join(repoRoot, 'capabilities', 'examples')], examples.io)).toBe(0);
    expect(examples.out.stdout).toMatch(/: ok \(7 tools in 1 server: capabilities\)\n$/);
  });

  it('reports usage errors and unreadable specs', async () => {
    const noOutput = io();
    expect(await runCapCommand(['import', SWAGGER2], noOutput.io)).toBe(2);
    expect(noOutput.out.stderr).toContain('--output DIR is required');
    const missing = io();
    expect(await runCapCommand(['import', join(fixtures, 'nope.json'), '-o', tempDir()], missing.io)).toBe(1);
    expect(missing.out.stderr).toMatch(/^mcp-gateway cap import: cannot read .*nope\.json/);
    await expect(importOpenApi(join(fixtures, 'nope.json'), {})).rejects.toBeInstanceOf(OpenApiImportError);
    const unknown = io();
    expect(await runCapCommand(['frobnicate'], unknown.io)).toBe(2);
  });
});
