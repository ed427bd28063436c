import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a pipe may keep us waiting for a writer or its next bytes (e.g. `--config <(envsubst < gateway.yaml)`). */
const PIPE_WAIT_MS = 10_000;
const POLL_MS = 20;

/**
 * A file's bytes, or 'too large' once more than `maxBytes` have been read: the file is read no further,
 * so a huge file, a device or a pipe cannot make the gateway read forever, whatever its size claims.
 * Opened non-blocking, so a named pipe never blocks a thread: a pipe is polled until its writer has
 * written and closed it, waiting at most `pipeWaitMs` for the first bytes and between bytes (a pipe
 * with no writer is not an empty file). Errors are the file system's (ENOENT, EACCES, EISDIR…), or
 * ETIMEDOUT.
 */
export async function readBounded(
  file: string,
  maxBytes: number,
  options: { pipeWaitMs?: number; regularOnly: true },
): Promise<Buffer | 'too large' | 'not a regular file'>;
export async function readBounded(file: string, maxBytes: number, options?: { pipeWaitMs?: number }): Promise<Buffer | 'too large'>;
export async function readBounded(
  file: string,
  maxBytes: number,
  { pipeWaitMs = PIPE_WAIT_MS, regularOnly = false }: { pipeWaitMs?: number; regularOnly?: boolean } = {},
): Promise<Buffer | 'too large' | 'not a regular file'> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    // Decided on the file opened, not on its path: it cannot change in between.
    if (regularOnly && !info.isFile()) return 'not a regular file';
    const pipe = info.isFIFO();
    const chunks: Buffer[] = [];
    let total = 0;
    let waitedMs = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, chunk.length, null));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        bytesRead = -1; // a writer is there, with nothing written yet
      }
      // 0 is the end of a file, and of a pipe whose writer closed it; before any byte, a pipe has no writer yet.
      if (bytesRead === 0 && !(pipe && total === 0)) return Buffer.concat(chunks, total);
      if (bytesRead <= 0) {
        if (waitedMs >= pipeWaitMs) throw Object.assign(new Error('no data from the pipe'), { code: 'ETIMEDOUT' });
        await sleep(POLL_MS);
        waitedMs += POLL_MS;
        continue;
      }
      waitedMs = 0;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return 'too large';
    }
  } finally {
    await handle.close();
  }
}
