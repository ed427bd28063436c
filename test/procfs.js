import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
/**
 * Reading processes from /proc, for tests that count what the gateway leaves behind. Written apart
 * from src/backends/process.ts on purpose: a test of process cleanup should not trust the code it checks.
 */
/** Fields after "(comm)" in /proc/<pid>/stat (comm may hold spaces and parentheses): state, ppid, ... */
function statFields(pid) {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    }
    catch {
        return undefined;
    }
}
/** Alive and not a zombie waiting for its reaper. */
export function isLive(pid) {
    try {
        process.kill(pid, 0);
    }
    catch (error) {
        if (error.code !== 'EPERM')
            return false;
    }
    const state = statFields(pid)?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
}
export function parentOf(pid) {
    const ppid = statFields(pid)?.[1];
    return ppid === undefined ? undefined : Number(ppid);
}
export function argv(pid) {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    }
    catch {
        return [];
    }
}
/** Every descendant of `root`, from the parent links in /proc. */
export function descendants(root) {
    const children = new Map();
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry))
            continue;
        const ppid = parentOf(Number(entry));
        if (ppid === undefined)
            continue;
        const list = children.get(ppid) ?? [];
        list.push(Number(entry));
        children.set(ppid, list);
    }
    const found = [];
    const queue = [root];
    while (queue.length > 0) {
        for (const child of children.get(queue.shift()) ?? []) {
            found.push(child);
            queue.push(child);
        }
    }
    return found;
}
/** A port nobody listens on right now (the kernel's pick for port 0, released again). */
export function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => resolve(port));
        });
    });
}
