import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig } from '../src/config/load.js';
import { type RunningGateway, startGateway } from '../src/server.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const fixturePath = fileURLToPath(new URL('./fixtures/fixture-server.mjs', import.meta.url));

/** A backend entry (YAML-ready object) running the fixture server with these flags. */
export function fixtureBackend(flags: string[] = [], extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [fixturePath, ...flags], ...extra };
}

/** Start a real gateway on a random loopback port from a config object (validated like a file). */
export async function startTestGateway(config: Record<string, unknown>): Promise<RunningGateway> {
  const withPort = { ...config, server: { port: 0, ...(config.server as object | undefined) } };
  return startGateway(parseConfig(JSON.stringify(withPort), { file: `${repoRoot}/test/inline.yaml` }));
}

/** One front client, whichever SDK and era, with the calls the tests need. */
export interface FrontClient {
  label: string;
  listToolNames(): Promise<string[]>;
  listToolsRaw(): Promise<Array<Record<string, unknown>>>;
  /**
   * tools/call through the SDK's high-level callTool, which validates the result against the tool's
   * outputSchema as SDK-based clients and the Inspector do (the tools were listed on connect, as clients do).
   */
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: { signal?: AbortSignal; onprogress?: (p: { progress: number }) => void },
  ): Promise<CallResult>;
  close(): Promise<void>;
}

export interface CallResult {
  content?: Array<Record<string, unknown>>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
  [key: string]: unknown;
}

export type ClientKind = 'v1' | 'v2-2025' | 'v2-2026';
export const CLIENT_KINDS: ClientKind[] = ['v1', 'v2-2025', 'v2-2026'];

/** `headers` go with every request (e.g. `Authorization: Bearer …`). */
export async function connectClient(kind: ClientKind, url: string, headers?: Record<string, string>): Promise<FrontClient> {
  const requestInit = headers ? { headers } : undefined;
  const info = { name: `test-${kind}`, version: '1.0.0' };
  if (kind === 'v1') {
    const client = new ClientV1(info);
    const transport = new HttpTransportV1(new URL(url), { requestInit });
    await client.connect(transport);
    await client.listTools(); // as real clients do; it also arms callTool's outputSchema validation
    return {
      label: kind,
      listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
      listToolsRaw: async () => (await client.listTools()).tools as Array<Record<string, unknown>>,
      call: async (name, args, options) =>
        (await client.callTool({ name, arguments: args ?? {} }, CallToolResultSchema, {
          signal: options?.signal,
          onprogress: options?.onprogress,
        })) as CallResult,
      close: async () => {
        await transport.terminateSession().catch(() => {});
        await client.close();
      },
    };
  }
  const client = new ClientV2(info, { versionNegotiation: { mode: kind === 'v2-2026' ? { pin: '2026-07-28' } : 'legacy' } });
  const transport = new HttpTransportV2(new URL(url), { requestInit });
  await client.connect(transport);
  await client.listTools(); // as real clients do; it also arms callTool's outputSchema validation
  return {
    label: kind,
    listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    listToolsRaw: async () => (await client.listTools()).tools as Array<Record<string, unknown>>,
    call: async (name, args, options) =>
      (await client.callTool(
        { name, arguments: args ?? {} },
        {
          signal: options?.signal,
          onprogress: options?.onprogress,
        },
      )) as CallResult,
    close: () => client.close(),
  };
}

/** The error object of a meta-tool's isError result (its text is `{"error":{code, message, ...}}`), else undefined. */
export function errorOf(result: CallResult): { code: string; message: string; [key: string]: unknown } | undefined {
  if (!result.isError) return undefined;
  const text = result.content?.find((c) => c.type === 'text')?.text;
  try {
    return (JSON.parse(String(text)) as { error?: { code: string; message: string } }).error;
  } catch {
    return undefined;
  }
}

/** Poll until `check` returns a truthy value (for effects that arrive asynchronously, e.g. list_changed). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  tries = 100,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

/** tsx's loader by absolute URL, so the CLI can run from any working directory. */
export const tsxLoader = pathToFileURL(`${repoRoot}/node_modules/tsx/dist/loader.mjs`).href;

/** Run the CLI from source; resolves with exit code and output. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, `${repoRoot}/src/cli.ts`, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
