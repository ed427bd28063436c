/**
 * Start-up: from spawn() to the first 200 from GET /health, for
 *   gateway — `node dist/cli.js --config <50 lazy fixture backends> --port 0 --log-level info`: the port is
 *             read from its "mcp-gateway serving http://..." log line, then /health is polled;
 *   bare    — `node -e <a plain node:http server on port 0 that prints its port>`, measured the same way.
 * Runs alternate (gateway, bare, gateway, bare, ...); medians are reported, and their ratio.
 * Nothing is started but the listener: the 50 backends are lazy, so none is spawned.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distCli, fixturePath, makeTmpDir, median, spawnChild, waitForHealth } from './util.js';
const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}'); });
server.listen(0, '127.0.0.1', () => process.stderr.write('bare serving http://127.0.0.1:' + server.address().port + '/\\n'));
process.on('SIGTERM', () => process.exit(0));
`;
/** A config with `count` stdio backends (the fixture, never started: backends are lazy). */
export function writeManyBackendsConfig(count) {
    const backends = {};
    for (let i = 0; i < count; i++) {
        const name = `backend-${String(i).padStart(2, '0')}`;
        backends[name] = { command: process.execPath, args: [fixturePath, '--name', name], description: `Fixture backend number ${i}` };
    }
    const file = join(makeTmpDir(), 'gateway.yaml');
    writeFileSync(file, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, backends }, null, 2));
    return file;
}
async function timeStart(command, args, ready) {
    const t0 = performance.now();
    const child = spawnChild(command, args);
    try {
        const m = await child.waitFor(ready, 20_000);
        await waitForHealth(new URL(m[1]).origin, 20_000);
        return performance.now() - t0;
    }
    finally {
        await child.stop();
    }
}
export async function measureStartup(runs, backends = 50) {
    const config = writeManyBackendsConfig(backends);
    const gatewayArgs = [distCli, '--config', config, '--port', '0', '--log-level', 'info'];
    const bareArgs = ['-e', BARE_SERVER];
    // One unmeasured start of each warms the OS file cache.
    await timeStart(process.execPath, gatewayArgs, /mcp-gateway serving (http:\/\/[^\s"]+)/);
    await timeStart(process.execPath, bareArgs, /bare serving (http:\/\/\S+)/);
    const gatewayMs = [];
    const bareMs = [];
    for (let i = 0; i < runs; i++) {
        gatewayMs.push(await timeStart(process.execPath, gatewayArgs, /mcp-gateway serving (http:\/\/[^\s"]+)/));
        bareMs.push(await timeStart(process.execPath, bareArgs, /bare serving (http:\/\/\S+)/));
    }
    const gatewayMedian = median(gatewayMs);
    const bareMedian = median(bareMs);
    return { runs, gatewayMs, bareMs, gatewayMedian, bareMedian, ratio: gatewayMedian / bareMedian };
}
