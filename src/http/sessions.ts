import { randomUUID } from 'node:crypto';
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, type Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import type { Principal } from '../access/principal.js';
import { cancelOnDisconnect, cancelRequests, requestIds } from './disconnect.js';
import { BoundedEventStore } from './event-store.js';
import { answeredId, isPriming, PrimingTurns, ResumeGrace } from './resume.js';

/** Per session: the newest 128 events within 128 KiB of JSON (a resume from before them is refused). */
const EVENT_LIMITS = { maxEvents: 128, maxBytes: 128 * 1024 };
/** The `retry` a resumable stream tells clients to wait before reconnecting. */
export const RETRY_MS = 1000;
/** How long a dropped resumable stream's requests keep running while their client may reconnect. */
export const RESUME_GRACE_MS = 5000;

export interface SessionLimits {
  /** Live sessions; opening one more closes the least recently used. */
  maxSessions: number;
  /** A session with no request for this long is closed. */
  idleMs: number;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  events: BoundedEventStore;
  grace: ResumeGrace;
  /** Which stream each resumable POST's answers go out on. */
  primings: PrimingTurns;
  /** The principal that opened the session: only it may use the session. */
  owner: string;
  /** The front it was opened on (/mcp, /mcp/{backend}, /mcp/v/{name}): only that path may use it. */
  route: string;
  /** The principal of the latest request (its scopes may have changed on a reload). */
  principal: Principal;
  lastSeen: number;
}

/**
 * The sessionful lane for 2025-era clients: one SDK transport and server per `Mcp-Session-Id`, so these
 * clients get server notifications and their cancellations reach the right request. Each session keeps its
 * recent stream events (bounded), so a 2025-11-25 client whose stream drops can resume it with
 * `Last-Event-ID`; its dropped calls are cancelled only if it does not come back within
 * `RESUME_GRACE_MS`. Older clients get no priming event id, and their calls are cancelled as soon as
 * the connection drops. Bounded: at most
 * `maxSessions` live (least recently used closed first) and none idle past `idleMs`. A closed session's
 * id is unknown from then on, so its client gets 404 and, as the spec asks, initializes again.
 */
export class SessionStore {
  /** Insertion order is recency order: every request moves its session to the end. */
  private readonly sessions = new Map<string, Session>();
  private reaper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly newServer: (route: string, principal: () => Principal) => Server,
    private readonly limits: () => SessionLimits,
    private readonly onEvicted: (info: { owner: string; why: 'cap' | 'idle' }) => void = () => {},
  ) {
    this.scheduleReaper();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A request for an existing session, or undefined when the id is unknown or belongs to another
   * principal (the caller answers 404 either way, so a stranger learns nothing about the id).
   */
  async handle(
    sessionId: string,
    principal: Principal,
    request: Request,
    parsedBody: unknown,
    route: string,
  ): Promise<Response | undefined> {
    const session = this.sessions.get(sessionId);
    if (!session || session.owner !== principal.name || session.route !== route) return undefined;
    session.principal = principal;
    session.lastSeen = Date.now();
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, session);
    if (request.method === 'POST') return this.post(session, request, parsedBody);
    const lastEventId = request.method === 'GET' ? request.headers.get('last-event-id') : null;
    const resumes = lastEventId ? session.events.streamOf(lastEventId) : undefined;
    const response = await session.transport.handleRequest(request, { parsedBody });
    if (resumes && response.ok) session.grace.resumed(request.signal, resumes);
    return response;
  }

  /**
   * A POST with requests on a resumable stream (the transport primes it with an event id for
   * 2025-11-25 and later): a dropped connection holds back their cancellation for the grace time.
   */
  private async post(session: Session, request: Request, parsedBody: unknown): Promise<Response> {
    const ids = requestIds(parsedBody);
    const version = request.headers.get('mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    if (ids.length === 0 || version < '2025-11-25') {
      cancelOnDisconnect(request.signal, session.transport, ids);
      return session.transport.handleRequest(request, { parsedBody });
    }
    const { response, streamId } = await session.primings.run(() => session.transport.handleRequest(request, { parsedBody }));
    if (streamId) session.grace.watch(request.signal, streamId, ids);
    // Not resumable after all: cancel as soon as it drops (for a refusal nothing ran, and this is a no-op).
    else cancelOnDisconnect(request.signal, session.transport, ids);
    return response;
  }

  /** An initialize request: open a session; the transport issues the id in its response. */
  async open(principal: Principal, request: Request, parsedBody: unknown, route: string): Promise<Response> {
    const session = { owner: principal.name, principal, route, lastSeen: Date.now() } as Session;
    session.server = this.newServer(route, () => session.principal);
    session.grace = new ResumeGrace(
      (ids) => cancelRequests(session.transport, ids, 'the client disconnected and did not resume'),
      RESUME_GRACE_MS,
    );
    session.primings = new PrimingTurns();
    session.events = new BoundedEventStore(EVENT_LIMITS, (streamId, message) => {
      if (isPriming(message)) return session.primings.stored(streamId);
      const id = answeredId(message);
      if (id !== undefined) session.grace.answered(streamId, id);
    });
    session.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: session.events,
      retryInterval: RETRY_MS,
      onsessioninitialized: (id) => {
        this.makeRoom();
        this.sessions.set(id, session);
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
        session.grace.dispose();
      },
    });
    await session.server.connect(session.transport);
    return session.transport.handleRequest(request, { parsedBody });
  }

  /** Send one notification to every live session's server. */
  async notify(send: (server: Server) => Promise<void>): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => send(s.server)));
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reaper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) s.grace.dispose();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }

  /**
   * At the cap, the least recently used session of the key that holds the most sessions is closed, so one
   * key opening sessions in a loop evicts its own, not other keys' (with one key, this is plain LRU).
   */
  private makeRoom(): void {
    const max = this.limits().maxSessions;
    while (this.sessions.size >= max && this.sessions.size > 0) {
      const counts = new Map<string, number>();
      for (const session of this.sessions.values()) counts.set(session.owner, (counts.get(session.owner) ?? 0) + 1);
      const heaviest = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      for (const [id, session] of this.sessions) {
        if (session.owner !== heaviest) continue;
        this.drop(id, session);
        this.onEvicted({ owner: session.owner, why: 'cap' });
        break;
      }
    }
  }

  private drop(id: string, session: Session): void {
    this.sessions.delete(id);
    session.grace.dispose();
    // Closing the server closes its transport: open streams end and in-flight handlers are aborted.
    void session.server.close().catch(() => {});
  }

  /** Sweeps at a quarter of the idle limit (1 s to 60 s), re-read each time so a reload applies. */
  private scheduleReaper(): void {
    if (this.closed) return;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(this.limits().idleMs / 4)));
    this.reaper = setTimeout(() => {
      this.closeIdle();
      this.scheduleReaper();
    }, every).unref();
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.limits().idleMs;
    // Recency order: the first session seen recently ends the sweep.
    for (const [id, session] of this.sessions) {
      if (session.lastSeen >= cutoff) break;
      this.drop(id, session);
      this.onEvicted({ owner: session.owner, why: 'idle' });
    }
  }
}
