/**
 * The gateway under bench/faults.ts, in its own process so that its RSS, heap and file descriptors are
 * its own: `node --expose-gc --import tsx bench/faults-gateway.ts CONFIG.json`. Prints `READY <url>` on
 * stdout once serving; answers each IPC message `stats` with its memory (after a full GC) and open fds,
 * and `close` by shutting the gateway down and exiting.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/server.js';

const file = process.argv[2]!;
const gateway = await startGateway(parseConfig(readFileSync(file, 'utf8'), { file }));
const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', async (message) => {
  if (message === 'stats') {
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    process.send?.({ rssMiB: memory.rss / 2 ** 20, heapMiB: memory.heapUsed / 2 ** 20, fds: readdirSync('/proc/self/fd').length });
  } else if (message === 'close') {
    await gateway.close();
    process.exit(0);
  }
});
process.stdout.write(`READY ${gateway.url}\n`);
