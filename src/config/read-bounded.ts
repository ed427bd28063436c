import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a pipe may keep us waiting for its next bytes (e.g. `--config <(envsubst < gateway.yaml)`). */
const PIPE_WAIT_MS = 10_000;

/**
 * A file's bytes, or 'too large' once more than `maxBytes` have been read: the file is read no further,
 * so a huge file, a device or a pipe cannot make the gateway read forever, whatever its size claims.
 * Opened non-blocking, so a named pipe without a writer reads as empty instead of waiting for one; a pipe
 * whose writer is slow is waited for, up to PIPE_WAIT_MS between bytes. Errors are the file system's
 * (ENOENT, EACCES, EISDIR…), or ETIMEDOUT.
 */
export async function readBounded(file: string, maxBytes: number): Promise<Buffer | 'too large'> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
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
        if (waitedMs >= PIPE_WAIT_MS) throw Object.assign(new Error('no data from the pipe'), { code: 'ETIMEDOUT' });
        await sleep(20);
        waitedMs += 20;
        continue;
      }
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      waitedMs = 0;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return 'too large';
    }
  } finally {
    await handle.close();
  }
}
