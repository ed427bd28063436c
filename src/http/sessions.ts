import { randomUUID } from 'node:crypto';
import { type Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';

/** Sessions idle longer than this are closed (clients that vanish without DELETE). */
const SESSION_IDLE_MS = 30 * 60_000;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  lastSeen: number;
}

/**
 * The sessionful lane for 2025-era clients: one SDK transport and server per `Mcp-Session-Id`,
 * so these clients get server notifications and their cancellations reach the right request.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly newServer: () => Server) {
    this.reaper = setInterval(() => this.closeIdle(), 60_000).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The request for an existing session, or undefined when the id is unknown (the caller answers 404). */
  async handle(sessionId: string, request: Request, parsedBody: unknown): Promise<Response | undefined> {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    session.lastSeen = Date.now();
    return session.transport.handleRequest(request, { parsedBody });
  }

  /** An initialize request: open a session; the transport issues the id in its response. */
  async open(request: Request, parsedBody: unknown): Promise<Response> {
    const server = this.newServer();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, server, lastSeen: Date.now() }),
      onsessionclosed: (id) => void this.sessions.delete(id),
    });
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody });
  }

  /** Tell every live session its tool list changed. */
  async notifyToolsChanged(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.server.sendToolListChanged()));
  }

  async closeAll(): Promise<void> {
    clearInterval(this.reaper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }

  private closeIdle(): void {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const [id, session] of this.sessions) {
      if (session.lastSeen < cutoff) {
        this.sessions.delete(id);
        void session.server.close().catch(() => {});
      }
    }
  }
}
