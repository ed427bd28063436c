import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import { type CallOptions, CallTimeoutError, type SourceStatus, type ToolSource } from '../sources/source.js';
import type { CapabilityDefinition, CapabilityGroup } from './load.js';
import { ArgumentError, type PreparedRequest, prepareRequest } from './request.js';
import { errorResult, type HttpReply, MAX_RESPONSE_BYTES, mapReply, scrubResult, scrubText } from './response.js';
import { MissingEnvError } from './template.js';

const MAX_REDIRECTS = 5;

export interface CapabilitySourceOptions {
  /** Where `${VAR}` references are read, at call time. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The tools of one capability server: REST calls described by YAML files. Nothing to start, so
 * the tool list is known at once; each call is one HTTP request (redirects followed, at most 5).
 */
export class CapabilitySource implements ToolSource {
  readonly name: string;
  readonly description: string;
  readonly fingerprint: string;
  readonly cachedTools: readonly Tool[];
  private readonly definitions: Map<string, CapabilityDefinition>;
  private readonly env: NodeJS.ProcessEnv;
  private inFlight = 0;

  constructor(
    readonly group: CapabilityGroup,
    options: CapabilitySourceOptions = {},
  ) {
    this.name = group.server;
    this.env = options.env ?? process.env;
    const names = group.tools.map((t) => t.name);
    this.description =
      group.description ?? `REST capabilities: ${names.slice(0, 8).join(', ')}${names.length > 8 ? `, and ${names.length - 8} more` : ''}`;
    this.definitions = new Map(group.tools.map((t) => [t.name, t]));
    this.cachedTools = group.tools.map(toTool);
    // The definitions only (not the files they came from, not the environment): a reload keeps an unchanged source.
    const stable = [...group.tools].sort((a, b) => a.name.localeCompare(b.name)).map(({ file: _file, ...def }) => def);
    this.fingerprint = stableJson({ kind: 'rest', server: group.server, description: group.description ?? null, tools: stable });
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  status(): SourceStatus {
    return {
      name: this.name,
      description: this.description,
      transport: 'http-rest',
      state: 'ready',
      tools: this.cachedTools.length,
      circuit: 'closed',
    };
  }

  async listTools(): Promise<readonly Tool[]> {
    return this.cachedTools;
  }

  /**
   * Make the request. HTTP errors, network errors, bad arguments and unset variables come back as
   * isError results; a timeout throws CallTimeoutError; a cancellation by the caller rethrows.
   * No environment value appears in any result.
   */
  async callTool(name: string, args: Record<string, unknown> | undefined, options: CallOptions = {}): Promise<CallToolResult> {
    const def = this.definitions.get(name);
    if (!def) return errorResult(`server "${this.name}" has no tool "${name}"`);
    options.signal?.throwIfAborted();

    let request: PreparedRequest;
    try {
      request = prepareRequest(def, args ?? {}, this.env);
    } catch (error) {
      if (error instanceof MissingEnvError) {
        return errorResult(
          `${this.name}/${def.name} cannot be called: environment variable ${error.variable} is not set where the gateway runs (see ${def.file})`,
        );
      }
      if (error instanceof ArgumentError) return errorResult(`${this.name}/${def.name}: ${error.message}; nothing was sent`);
      throw error;
    }

    this.inFlight++;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(new CallTimeoutError(this.name, def.timeoutMs));
    }, def.timeoutMs);
    const onCancel = () => abort.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onCancel, { once: true });
    try {
      const reply = await send(request, abort.signal);
      return scrubResult(mapReply(def, request.method, reply), request.secrets);
    } catch (error) {
      if (timedOut) throw new CallTimeoutError(this.name, def.timeoutMs);
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      return errorResult(scrubText(`${request.method} ${request.displayUrl} failed: ${networkError(error)}`, request.secrets));
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
      this.inFlight--;
    }
  }

  async stop(): Promise<void> {}
}

/** fetch with redirects followed by hand: credentials are not sent on to another origin. */
async function send(request: PreparedRequest, signal: AbortSignal): Promise<HttpReply> {
  let { url, method, body } = request;
  const headers = new Headers(request.headers);
  for (let hop = 0; ; hop++) {
    const response = await fetch(url, { method, headers, body, redirect: 'manual', signal });
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || !location) {
      const { bytes, cut } = await readBody(response);
      return { status: response.status, statusText: response.statusText, headers: response.headers, bytes, cut };
    }
    await response.body?.cancel();
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error('redirected to a URL that is not http(s)');
    if (next.origin !== url.origin) {
      // Another host: drop every header that carries a value from the environment (auth, API keys).
      headers.delete('authorization');
      for (const [name, value] of [...headers]) if ([...request.secrets].some((s) => value.includes(s))) headers.delete(name);
    }
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers.delete('content-type');
    }
    url = next;
  }
}

async function readBody(response: Response): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(), cut: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks, total), cut: false };
    if (total + value.length > MAX_RESPONSE_BYTES) {
      chunks.push(value.subarray(0, MAX_RESPONSE_BYTES - total));
      await reader.cancel();
      return { bytes: Buffer.concat(chunks, MAX_RESPONSE_BYTES), cut: true };
    }
    chunks.push(value);
    total += value.length;
  }
}

/** "fetch failed" says nothing; its cause says what went wrong (ECONNREFUSED, ENOTFOUND, a TLS error). */
function networkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { message?: string; code?: string } | undefined;
  const detail = cause?.message || cause?.code;
  return detail && detail !== error.message ? `${error.message}: ${detail}` : error.message;
}

export function toTool(def: CapabilityDefinition): Tool {
  return {
    name: def.name,
    ...(def.title !== undefined ? { title: def.title } : {}),
    description: def.description,
    inputSchema: def.inputSchema as Tool['inputSchema'],
    annotations: def.annotations,
  };
}

/** JSON with object keys sorted at every level: equal definitions give equal fingerprints. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
