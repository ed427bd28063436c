import type { HttpBackendConfig } from '../config/schema.js';
import { BackendUnavailableError, describeError } from '../sources/source.js';
import { type ConnectHooks, type Connection, connectBackend, isModernEra } from './connect.js';

/**
 * A second, 2025-era session to an HTTP backend whose connection negotiated 2026-07-28, for 2025 callers
 * of its passthrough and for resources/subscribe (which only the 2025 era has). Over it the backend's
 * sampling, elicitation and roots come as real requests, as a 2025 client connected directly would get
 * them. Opened on first need, closed with the backend's connection; list changes still come from that one.
 */
export class LegacySession {
  private connection?: Connection;
  private opening?: Promise<Connection>;

  constructor(
    private readonly name: string,
    private readonly config: HttpBackendConfig,
    private readonly hooks: Pick<ConnectHooks, 'logger' | 'watchdog' | 'onResourceUpdated' | 'onServerRequest' | 'onLog'>,
  ) {}

  /** The session 2025 callers use: `primary` itself unless it negotiated 2026-07-28. */
  get(primary: Connection): Promise<Connection> {
    if (!isModernEra(primary)) return Promise.resolve(primary);
    if (this.connection) return Promise.resolve(this.connection);
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Is this the 2025-era session (so a lost session drops it rather than the backend's connection)? */
  owns(connection: Connection): boolean {
    return connection === this.connection;
  }

  /** Forget a session the backend lost, so the next caller opens a new one. */
  async drop(connection: Connection): Promise<void> {
    if (this.connection === connection) this.connection = undefined;
    await connection.close();
  }

  async close(): Promise<void> {
    const { connection, opening } = this;
    this.connection = undefined;
    await connection?.close();
    // One still opening is closed once it is open.
    const late = await opening?.catch(() => undefined);
    if (late) {
      if (this.connection === late) this.connection = undefined;
      await late.close();
    }
  }

  private async open(): Promise<Connection> {
    const noop = () => {};
    const attempt: { connection?: Connection } = {};
    try {
      const connection = await connectBackend(
        this.name,
        this.config,
        {
          ...this.hooks,
          onToolsChanged: noop,
          onResourcesChanged: noop,
          onPromptsChanged: noop,
          onStderrLine: noop,
          onClosed: () => {
            if (attempt.connection && this.connection === attempt.connection) this.connection = undefined;
          },
        },
        AbortSignal.timeout(this.config.connectTimeoutMs),
        'legacy',
      );
      attempt.connection = connection;
      this.connection = connection;
      return connection;
    } catch (error) {
      throw new BackendUnavailableError(this.name, `its 2025-era session could not be opened: ${describeError(error)}`);
    }
  }
}
