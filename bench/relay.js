/**
 * The latency floor: a raw relay, the least any HTTP-fronted gateway can add on this machine.
 *
 *   node --import tsx bench/relay.ts --stdio -- <command> [args...]   plain node:http in, newline-delimited
 *                                                                      JSON-RPC to one stdio child out
 *   node --import tsx bench/relay.ts --http <url>                      plain node:http in, fetch() out
 *
 * No SDK, no validation, no sessions. The stdio relay rewrites JSON-RPC ids (many HTTP clients share one
 * child, and every client counts from 0) and matches the answer line by id; everything else, including the
 * initialize handshake, passes through as is. GET (the optional SSE stream) gets 405, which clients accept.
 * Prints `relay listening http://127.0.0.1:<port>/mcp` on stdout when ready. Loopback only. Ends on
 * SIGTERM/SIGINT or when the stdio child exits, taking the child with it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
let stopping = false;
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
    });
}
function stdioRelay(command, args) {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    child.on('exit', (code) => {
        if (stopping)
            process.exit(0);
        process.stderr.write(`relay: backend exited (${code})\n`);
        process.exit(1);
    });
    let nextId = 1;
    const pending = new Map();
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        if (!line)
            return;
        const msg = JSON.parse(line);
        if (typeof msg.id !== 'number' || msg.method !== undefined)
            return; // notifications and server requests: dropped
        const waiting = pending.get(msg.id);
        if (!waiting)
            return;
        pending.delete(msg.id);
        msg.id = waiting.id;
        const out = JSON.stringify(msg);
        waiting.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    });
    const handler = (req, res, body) => {
        if (req.method !== 'POST') {
            res.writeHead(405, { allow: 'POST' }).end();
            return;
        }
        const msg = JSON.parse(body.toString('utf8'));
        if (msg.id === undefined || msg.method === undefined) {
            // A notification (or a response to the server): pass it on, nothing comes back.
            child.stdin.write(`${body.toString('utf8')}\n`);
            res.writeHead(202).end();
            return;
        }
        const id = nextId++;
        pending.set(id, { res, id: msg.id });
        msg.id = id;
        child.stdin.write(`${JSON.stringify(msg)}\n`);
    };
    return { handler, stop: () => child.kill('SIGTERM') };
}
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'mcp-session-id', 'mcp-protocol-version'];
function httpRelay(target) {
    const handler = (req, res, body) => {
        if (req.method === 'GET') {
            res.writeHead(405, { allow: 'POST, DELETE' }).end();
            return;
        }
        const headers = {};
        for (const h of FORWARDED_REQUEST_HEADERS) {
            const v = req.headers[h];
            if (typeof v === 'string')
                headers[h] = v;
        }
        void fetch(target, { method: req.method, headers, body: req.method === 'POST' ? new Uint8Array(body) : undefined }).then((upstream) => {
            const out = {};
            for (const h of FORWARDED_RESPONSE_HEADERS) {
                const v = upstream.headers.get(h);
                if (v !== null)
                    out[h] = v;
            }
            res.writeHead(upstream.status, out);
            if (!upstream.body) {
                res.end();
                return;
            }
            // Streamed through as it arrives (a 2025 server may answer a POST with a short SSE stream).
            Readable.fromWeb(upstream.body).pipe(res);
        }, (error) => {
            res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
        });
    };
    return { handler, stop: () => { } };
}
function main(argv) {
    let relay;
    if (argv[0] === '--stdio' && argv[1] === '--' && argv[2])
        relay = stdioRelay(argv[2], argv.slice(3));
    else if (argv[0] === '--http' && argv[1])
        relay = httpRelay(argv[1]);
    else {
        process.stderr.write('usage: relay.ts --stdio -- <command> [args...] | --http <url>\n');
        process.exit(2);
    }
    const server = createServer((req, res) => {
        readBody(req).then((body) => {
            try {
                relay.handler(req, res, body);
            }
            catch (error) {
                res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
            }
        }, () => res.destroy());
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        process.stdout.write(`relay listening http://127.0.0.1:${port}/mcp\n`);
    });
    const stop = () => {
        stopping = true;
        relay.stop();
        server.closeAllConnections();
        server.close();
        setTimeout(() => process.exit(0), 200).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
}
main(process.argv.slice(2));
