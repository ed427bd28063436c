/**
 * Tool vectors on disk, keyed by (model, text): a restart re-embeds nothing. One append-only file per
 * model in the cache folder; each record is the text's SHA-256 (32 bytes), the dimension count (uint32 LE)
 * and the vector (float32 LE). A torn last record (a crash mid-write) is ignored when read.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { endianness, homedir } from 'node:os';
import { join } from 'node:path';

const LITTLE_ENDIAN = endianness() === 'LE';

/** $XDG_CACHE_HOME/mcp-gateway/embeddings, or ~/.cache/mcp-gateway/embeddings. */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mcp-gateway', 'embeddings');
}

export function textKey(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class VectorCache {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly file: string;
  private writable = true;
  private dirMade = false;

  constructor(
    readonly dir: string,
    model: string,
  ) {
    const safe = model.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
    this.file = join(dir, `${safe}-${textKey(model).slice(0, 12)}.vec`);
    this.load();
  }

  get size(): number {
    return this.vectors.size;
  }

  get(key: string): Float32Array | undefined {
    return this.vectors.get(key);
  }

  put(key: string, vector: Float32Array): void {
    this.putMany([[key, vector]]);
  }

  /** Several vectors (an embedding batch) in one append: one write, not one per vector. */
  putMany(entries: ReadonlyArray<readonly [key: string, vector: Float32Array]>): void {
    const records: Buffer[] = [];
    for (const [key, vector] of entries) {
      if (this.vectors.has(key)) continue;
      this.vectors.set(key, vector);
      const record = Buffer.alloc(36 + vector.length * 4);
      Buffer.from(key, 'hex').copy(record, 0);
      record.writeUInt32LE(vector.length, 32);
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(record, 36);
      records.push(record);
    }
    if (!this.writable || records.length === 0) return;
    try {
      if (!this.dirMade) mkdirSync(this.dir, { recursive: true });
      this.dirMade = true;
      appendFileSync(this.file, Buffer.concat(records));
    } catch {
      this.writable = false; // a read-only or full disk: vectors stay in memory for this run
    }
  }

  private load(): void {
    let data: Buffer;
    try {
      data = readFileSync(this.file);
    } catch {
      return;
    }
    let at = 0;
    while (at + 36 <= data.length) {
      const dims = data.readUInt32LE(at + 32);
      const end = at + 36 + dims * 4;
      if (dims === 0 || dims > 65_536 || end > data.length) break;
      let vector: Float32Array;
      if (LITTLE_ENDIAN) {
        // One copy into an aligned buffer per record (10,000 × 512 floats read one by one took ~0.1 s).
        vector = new Float32Array(data.buffer.slice(data.byteOffset + at + 36, data.byteOffset + end));
      } else {
        vector = new Float32Array(dims);
        for (let i = 0; i < dims; i++) vector[i] = data.readFloatLE(at + 36 + i * 4);
      }
      this.vectors.set(data.toString('hex', at, at + 32), vector);
      at = end;
    }
    if (at < data.length) {
      try {
        truncateSync(this.file, at); // so the next record starts where a reader expects one
      } catch {
        this.writable = false;
      }
    }
  }
}
