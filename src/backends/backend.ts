import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import type { BackendConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { type Connection, connectBackend } from './connect.js';

export type BackendState = 'idle' | 'starting' | 'ready' | 'error';

export interface BackendStatus {
  name: string;
  description?: string;
  transport: string;
  state: BackendState;
  /** null until the tool list was fetched once. */
  tools: number | null;
  error?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

/** Thrown when a backend cannot be started or cannot list its tools. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super(`server "${backend}" is unavailable: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

const STDERR_TAIL_LINES = 20;

/**
 * One configured backend: connected on first need, its tool list cached (and kept through
 * restarts, so it stays searchable), refetched when the backend says it changed.
 */
export class Backend {
  state: BackendState = 'idle';
  lastError?: string;
  private tools?: Tool[];
  private connection?: Connection;
  private starting?: Promise<Connection>;
  private readonly stderrTail: string[] = [];

  constructor(
    readonly name: string,
    readonly config: BackendConfig,
    private readonly logger: Logger,
    private readonly onToolsChanged: (backend: Backend) => void,
  ) {}

  /** The cached tool list; undefined until it was fetched once. */
  get cachedTools(): readonly Tool[] | undefined {
    return this.tools;
  }

  status(): BackendStatus {
    const transport = this.connection?.transport ?? (this.config.kind === 'stdio' ? 'stdio' : this.config.transport);
    return {
      name: this.name,
      description: this.config.description,
      transport,
      state: this.state,
      tools: this.tools?.length ?? null,
      ...(this.lastError ? { error: this.lastError } : {}),
    };
  }

  /** The tool list: from the cache, or by starting the backend. Throws BackendUnavailableError. */
  async listTools(): Promise<readonly Tool[]> {
    if (this.tools) return this.tools;
    await this.ensureStarted();
    return this.tools ?? [];
  }

  /** Forward one tools/call and return the backend's result as it came. */
  async callTool(name: string, args: Record<string, unknown> | undefined, options: CallOptions = {}): Promise<CallToolResult> {
    const { client } = await this.ensureStarted();
    const params: Record<string, unknown> = { name };
    if (args !== undefined) params.arguments = args;
    return client.request(
      { method: 'tools/call', params },
      { timeout: this.config.timeoutMs, signal: options.signal, onprogress: options.onprogress },
    ) as Promise<CallToolResult>;
  }

  /** The last lines the stdio child wrote to stderr (for error messages). */
  recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  async stop(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (this.state !== 'error') this.state = 'idle';
    await connection?.client.close().catch(() => {});
  }

  ensureStarted(): Promise<Connection> {
    if (this.connection) return Promise.resolve(this.connection);
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<Connection> {
    this.state = 'starting';
    this.stderrTail.length = 0;
    const timeoutMs = this.config.connectTimeoutMs;
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error(`timed out after ${timeoutMs} ms while starting and listing tools`)), timeoutMs);
    // Each attempt has its own identity, so a late close event from an old connection is ignored.
    const attempt: { connection?: Connection } = {};
    try {
      const connection = await connectBackend(
        this.name,
        this.config,
        {
          logger: this.logger,
          onToolsChanged: (tools) => {
            if (attempt.connection === this.connection) this.setTools(tools);
          },
          onClosed: () => this.onConnectionClosed(attempt),
          onStderrLine: (line) => this.onStderrLine(line),
        },
        timer.signal,
      );
      attempt.connection = connection;
      try {
        const { tools } = await connection.client.listTools(undefined, { signal: timer.signal, timeout: timeoutMs, cacheMode: 'refresh' });
        this.connection = connection;
        this.state = 'ready';
        this.lastError = undefined;
        this.setTools(tools);
        this.logger.info({ backend: this.name, tools: tools.length, pid: connection.pid, transport: connection.transport }, 'backend ready');
        return connection;
      } catch (error) {
        await connection.client.close().catch(() => {});
        throw error;
      }
    } catch (error) {
      const reason = timer.signal.aborted ? (timer.signal.reason as Error).message : describeError(error);
      const tail = this.recentStderr();
      this.state = 'error';
      this.lastError = tail ? `${reason}; stderr: ${lastChars(tail, 500)}` : reason;
      this.logger.warn({ backend: this.name, err: this.lastError }, 'backend failed to start');
      throw new BackendUnavailableError(this.name, this.lastError);
    } finally {
      clearTimeout(timeout);
    }
  }

  private onConnectionClosed(attempt: { connection?: Connection }): void {
    if (!attempt.connection || attempt.connection !== this.connection) return; // a stop() we asked for, or a failed start
    this.connection = undefined;
    this.state = 'error';
    const tail = this.recentStderr();
    this.lastError = `connection closed unexpectedly${tail ? `; stderr: ${lastChars(tail, 500)}` : ''}`;
    this.logger.warn({ backend: this.name }, 'backend connection closed unexpectedly; it restarts on next use');
  }

  private onStderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.logger.info({ backend: this.name, stderr: line }, 'backend stderr');
  }

  private setTools(tools: Tool[]): void {
    this.tools = tools;
    this.onToolsChanged(this);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? `${error.message} (code ${code})` : error.message;
  }
  return String(error);
}

function lastChars(text: string, n: number): string {
  return text.length > n ? `…${text.slice(-n)}` : text;
}
