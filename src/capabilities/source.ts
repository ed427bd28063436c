import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import { resolveFailsafes } from '../config/schema.js';
import { redact } from '../secrets/redact.js';
import { CallGuard, type CircuitStatus } from '../sources/failsafes.js';
import { type CallOptions, CallTimeoutError, type SourceStatus, type ToolSource } from '../sources/source.js';
import { send } from './http.js';
import type { CapabilityDefinition, CapabilityGroup } from './load.js';
import { BlockedAddressError } from './network-policy.js';
import { type Host, Reachability } from './reachability.js';
import { ArgumentError, type PreparedRequest, prepareRequest, withDefaults } from './request.js';
import { errorResult, mapReply, scrubResult, scrubText } from './response.js';
import { MissingEnvError, render, urlComponent } from './template.js';
import { checkArguments, InvalidArgumentsError, InvalidSchemaError } from './validate.js';

/** Answers that say the API itself is down: they count against the circuit, as network failures and timeouts do. */
const UPSTREAM_DOWN = [502, 503, 504];

export interface CapabilitySourceOptions {
  /** Where `${VAR}` references are read, at call time. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A call that failed in a way that counts against the circuit; the caller still gets its isError result. */
class UpstreamFault extends Error {
  constructor(readonly result: CallToolResult) {
    super('upstream fault');
  }
}

/**
 * The tools of one capability server: REST calls described by YAML files. Nothing to start, so
 * the tool list is known at once; each call is one HTTP request (redirects followed, at most 5),
 * after its arguments passed the tool's input schema, through the CallGuard of its file.
 * status() is `error` when no host of the source can be reached (DNS, the network policy, or the
 * last call's network failure), with the reason.
 */
export class CapabilitySource implements ToolSource {
  readonly name: string;
  readonly description: string;
  readonly fingerprint: string;
  readonly cachedTools: readonly Tool[];
  private readonly definitions: Map<string, CapabilityDefinition>;
  private readonly env: NodeJS.ProcessEnv;
  private readonly guards = new Map<string, CallGuard>();
  private readonly hostOf = new Map<string, Host>();
  private readonly reachability: Reachability;
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
    this.reachability = new Reachability(this.hostsOf(group.tools));
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /**
   * Asking for the status starts a due DNS check of the hosts in the background (at most one per
   * CHECK_TTL_MS); until the first check has ended, with nothing known, the state is `starting`.
   */
  status(): SourceStatus {
    void this.reachability.refresh();
    const failures = this.reachability.failures();
    const all = failures.length > 0 && failures.length === this.reachability.hosts.length;
    const state = all
      ? 'error'
      : failures.length === 0 && !this.reachability.checked && this.reachability.hosts.length > 0
        ? 'starting'
        : 'ready';
    const error = failures
      .map(({ host, reason }) => `${host.host}: ${reason}${all ? '' : ` (${host.tools.join(', ')} cannot work)`}`)
      .join('; ');
    return {
      name: this.name,
      description: this.description,
      transport: 'http-rest',
      state,
      tools: this.cachedTools.length,
      circuit: this.circuit(),
      ...(error ? { error: redact(error) } : {}),
    };
  }

  async listTools(): Promise<readonly Tool[]> {
    return this.cachedTools;
  }

  /**
   * Make the request. Arguments that break the input schema (or would leave the tool's origin)
   * throw InvalidArgumentsError; HTTP errors, network errors and unset variables come back as isError
   * results; a timeout throws CallTimeoutError; the file's CallGuard may throw CircuitOpenError,
   * BusyError or RateLimitedError; a cancellation by the caller rethrows. No environment value appears in any result.
   */
  async callTool(name: string, args: Record<string, unknown> | undefined, options: CallOptions = {}): Promise<CallToolResult> {
    const def = this.definitions.get(name);
    if (!def) return errorResult(`server "${this.name}" has no tool "${name}"`);
    options.signal?.throwIfAborted();

    let request: PreparedRequest;
    try {
      // Top-level defaults first: an argument the schema both requires and gives a default may be left out.
      const problems = await checkArguments(def.inputSchema, withDefaults(def, args ?? {}));
      if (problems.length > 0) throw new InvalidArgumentsError(this.name, def.name, problems);
      request = prepareRequest(def, args ?? {}, this.env);
    } catch (error) {
      if (error instanceof MissingEnvError) {
        return errorResult(
          `${this.name}/${def.name} cannot be called: environment variable ${error.variable} is not set where the gateway runs (see ${def.file})`,
        );
      }
      if (error instanceof ArgumentError) throw new InvalidArgumentsError(this.name, def.name, error.problems);
      if (error instanceof InvalidSchemaError)
        return errorResult(`${this.name}/${def.name} cannot be called: ${error.message} (see ${def.file})`);
      throw error;
    }

    try {
      return await this.guardFor(def).run(() => this.exchange(def, request, options));
    } catch (error) {
      if (error instanceof UpstreamFault) return error.result;
      throw error;
    }
  }

  async stop(): Promise<void> {}

  /** One request under the tool's timeout; faults (no answer, timeout, 502/503/504) are thrown for the circuit. */
  private async exchange(def: CapabilityDefinition, request: PreparedRequest, options: CallOptions): Promise<CallToolResult> {
    const host = this.hostOf.get(def.name);
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
      const reply = await send(request, { signal: abort.signal, allowPrivateNetwork: def.allowPrivateNetwork });
      if (host) this.reachability.callReached(host);
      const result = scrubResult(mapReply(def, request.method, reply), request.secrets);
      if (UPSTREAM_DOWN.includes(reply.status)) throw new UpstreamFault(result);
      return result;
    } catch (error) {
      if (error instanceof UpstreamFault) throw error;
      if (timedOut) throw new CallTimeoutError(this.name, def.timeoutMs);
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const reason = scrubText(networkError(error), request.secrets);
      if (host) this.reachability.callFailed(host, reason);
      const result = errorResult(scrubText(`${request.method} ${request.displayUrl} failed: ${reason}`, request.secrets));
      // The policy refused the address: the file's doing, not the API's, so it does not count against the circuit.
      if (error instanceof BlockedAddressError) return result;
      throw new UpstreamFault(result);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
      this.inFlight--;
    }
  }

  /** One CallGuard per file: its failsafe keys over the gateway's defaults. */
  private guardFor(def: CapabilityDefinition): CallGuard {
    let guard = this.guards.get(def.file);
    if (!guard) {
      const settings = resolveFailsafes({ ...def.failsafes, timeout_ms: def.timeoutMs }, {});
      guard = new CallGuard(this.name, settings, (error) => error instanceof UpstreamFault || error instanceof CallTimeoutError);
      this.guards.set(def.file, guard);
    }
    return guard;
  }

  private circuit(): CircuitStatus {
    const states = [...this.guards.values()].map((g) => g.circuit);
    return states.includes('open') ? 'open' : states.includes('half-open') ? 'half-open' : 'closed';
  }

  /** The host each tool calls (a host from an unset variable is left out: its calls say so). */
  private hostsOf(tools: CapabilityDefinition[]): Host[] {
    const hosts = new Map<string, Host>();
    const anyArgument = new Proxy({}, { get: () => 'x' }) as Record<string, unknown>;
    for (const def of tools) {
      let hostname: string;
      try {
        hostname = new URL(render(def.url, { args: anyArgument, env: this.env }, urlComponent)!).hostname.replace(/^\[|\]$/g, '');
      } catch {
        continue;
      }
      const key = `${hostname}\u0000${def.allowPrivateNetwork}`;
      const host = hosts.get(key) ?? { host: hostname, allowPrivateNetwork: def.allowPrivateNetwork, tools: [] };
      host.tools.push(def.name);
      hosts.set(key, host);
      this.hostOf.set(def.name, host);
    }
    return [...hosts.values()];
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
