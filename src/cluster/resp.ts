import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/**
 * A minimal Redis client (RESP2 over one TCP or TLS connection): commands are pipelined and answered
 * in order. Enough for EVALSHA/EVAL, AUTH and SELECT; no pub/sub, no cluster, no RESP3.
 * It connects on the first command and again after any failure, so a Redis restart heals by itself.
 * A command not answered within `timeoutMs` fails, and the connection is dropped with every command
 * still waiting on it (a late reply could otherwise be taken for the next command's).
 */
export type RespValue = string | number | null | RespValue[];

export class RespError extends Error {}

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Replies larger than this mean something is wrong with the peer: drop the connection. */
const MAX_BUFFER = 1024 * 1024;

export class RespClient {
  readonly #target: URL;
  readonly #timeoutMs: number;
  #socket: Socket | undefined;
  /** The current connection once AUTH/SELECT succeeded. */
  #ready: Promise<Socket> | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending[] = [];
  #closed = false;

  constructor(url: string, timeoutMs: number) {
    this.#target = new URL(url);
    this.#timeoutMs = timeoutMs;
  }

  /** host:port, for logs (never the password). */
  get address(): string {
    return `${this.#target.hostname}:${this.#target.port || 6379}`;
  }

  async command(args: Array<string | number>): Promise<RespValue> {
    if (this.#closed) throw new Error('redis client closed');
    this.#ready ??= this.#open();
    return this.#send(await this.#ready, args);
  }

  close(): void {
    this.#closed = true;
    this.#drop(new Error('redis client closed'));
  }

  #send(socket: Socket, args: Array<string | number>): Promise<RespValue> {
    if (socket !== this.#socket || socket.destroyed) return Promise.reject(new Error('redis connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#drop(new Error(`redis did not answer within ${this.#timeoutMs} ms`), socket), this.#timeoutMs);
      this.#pending.push({ resolve, reject, timer });
      socket.write(encode(args));
    });
  }

  /** Connect, then AUTH and SELECT as the URL asks; commands wait for both, and a failure fails them. */
  #open(): Promise<Socket> {
    const url = this.#target;
    const port = Number(url.port || 6379);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = url.protocol === 'rediss:' ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.#receive(socket, chunk));
    socket.on('error', (error) => this.#drop(error, socket));
    socket.on('close', () => this.#drop(new Error('redis connection closed'), socket));
    const setup: Array<Promise<RespValue>> = [];
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (password) setup.push(this.#send(socket, user ? ['AUTH', user, password] : ['AUTH', password]));
    const db = url.pathname.replace(/^\//, '').replace(/\/$/, '');
    if (db && db !== '0') setup.push(this.#send(socket, ['SELECT', db]));
    return Promise.all(setup).then(
      () => socket,
      (error: Error) => {
        this.#drop(error, socket);
        throw error;
      },
    );
  }

  #receive(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#buffer.length > MAX_BUFFER) {
      this.#drop(new Error('redis reply too large'));
      return;
    }
    for (;;) {
      let parsed: ReturnType<typeof parseReply>;
      try {
        parsed = parseReply(this.#buffer, 0);
      } catch (error) {
        this.#drop(error as Error);
        return;
      }
      if (!parsed) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const waiter = this.#pending.shift();
      if (!waiter) {
        this.#drop(new Error('redis sent a reply nobody asked for'));
        return;
      }
      clearTimeout(waiter.timer);
      if (parsed.value instanceof RespError) waiter.reject(parsed.value);
      else waiter.resolve(parsed.value);
    }
  }

  /** Forget the connection (or only `which`, if it is still the current one) and fail what waits on it. */
  #drop(error: Error, which?: Socket): void {
    if (which && which !== this.#socket) return;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = undefined;
    socket?.destroy();
    for (const waiter of this.#pending.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}

function encode(args: Array<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One RESP2 reply starting at `at`, or undefined if it has not fully arrived. Errors come back as RespError values. */
function parseReply(buffer: Buffer, at: number): { value: RespValue | RespError; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[at]!);
  const line = buffer.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (!item) return undefined;
        // An error inside an array (e.g. from EXEC) is kept as its message.
        items.push(item.value instanceof RespError ? item.value.message : item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new RespError(`unexpected redis reply type ${JSON.stringify(type)}`);
  }
}
