import { assertEcho, callTool, closeQuietly, ECHO_ARGS, httpClient, invokeArgs, stdioClient, summarize } from './util.js';
async function makePaths(setup, backend) {
    const paths = [];
    const add = (label, client, name, args) => paths.push({ label, client, call: () => callTool(client, name, args), samples: [] });
    try {
        if (backend === 'stdio')
            add('direct', await stdioClient(['--name', 'direct-stdio']), 'echo', ECHO_ARGS);
        else
            add('direct', await httpClient(setup.httpFixtureUrl, '2025'), 'echo', ECHO_ARGS);
        add('relay', await httpClient(backend === 'stdio' ? setup.relayStdioUrl : setup.relayHttpUrl, '2025'), 'echo', ECHO_ARGS);
        add('gw-2025', await httpClient(setup.gatewayUrl, '2025'), 'invoke', invokeArgs(backend));
        add('gw-2026', await httpClient(setup.gatewayUrl, '2026'), 'invoke', invokeArgs(backend));
        for (const p of paths)
            assertEcho(await p.call(), `${backend}/${p.label}`);
        return paths;
    }
    catch (error) {
        await Promise.all(paths.map((p) => closeQuietly(p.client)));
        throw error;
    }
}
export async function measureLatency(setup, backend, options) {
    const started = performance.now();
    const paths = await makePaths(setup, backend);
    try {
        for (const p of paths)
            for (let i = 0; i < options.warmup; i++)
                await p.call();
        let roundsDone = 0;
        for (let r = 0; r < options.rounds; r++) {
            if (performance.now() - started > options.budgetMs)
                break;
            for (let k = 0; k < paths.length; k++) {
                const p = paths[(r + k) % paths.length];
                for (let i = 0; i < options.callsPerRound; i++) {
                    const t0 = performance.now();
                    await p.call();
                    p.samples.push(performance.now() - t0);
                }
            }
            roundsDone++;
        }
        const stats = Object.fromEntries(paths.map((p) => [p.label, summarize(p.samples)]));
        const direct = stats.direct;
        const relay = stats.relay;
        const relayAdded = { p50: relay.p50 - direct.p50, p99: relay.p99 - direct.p99 };
        const ratios = {};
        for (const lane of ['gw-2025', 'gw-2026']) {
            const s = stats[lane];
            const addedP50 = s.p50 - direct.p50;
            const addedP99 = s.p99 - direct.p99;
            ratios[lane] = { addedP50, addedP99, p50Ratio: addedP50 / relayAdded.p50, p99Ratio: addedP99 / relayAdded.p99 };
        }
        return { backend, paths: paths.map((p) => ({ label: p.label, stats: stats[p.label] })), roundsDone, ratios, relayAdded };
    }
    finally {
        await Promise.all(paths.map((p) => closeQuietly(p.client)));
    }
}
