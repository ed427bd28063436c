import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * A file's bytes, or 'too large' once more than `maxBytes` have been read: the file is read no further,
 * so a huge file, a device or a pipe cannot make the gateway read (or wait) forever, whatever its size
 * claims. Opened non-blocking, so a named pipe without a writer reads as empty instead of waiting for
 * one. Errors are the file system's (ENOENT, EACCES, EISDIR, EAGAIN…).
 */
export async function readBounded(file: string, maxBytes: number): Promise<Buffer | 'too large'> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return 'too large';
    }
  } finally {
    await handle.close();
  }
}
