/**
 * Token footprint: what a model has in its context before it does anything.
 *   gateway — the four meta-tool definitions exactly as the running gateway (dist/cli.js) serves them in
 *             tools/list: JSON.stringify(result.tools), with the shipped gateway.yaml (3 backends, lazy:
 *             none is started) and with 50 backends (the server list in search_tools' description grows);
 *   flat    — what an aggregating proxy would serve for the same backends: every backend's tools/list
 *             concatenated, taken from ../shared/real-tools/server-*.json (captured from the real
 *             servers, with full input and output schemas); for gateway.yaml's three and for all ten.
 * Characters are of the compact JSON; tokens are o200k_base tokens of that JSON (gpt-tokenizer). A model's
 * own rendering of tool definitions differs in detail, so compare the tokens as ratios.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { closeQuietly, httpClient, repoRoot, startGatewayCli } from './util.js';
import { writeManyBackendsConfig } from './startup.js';
const REAL_TOOLS = join(repoRoot, '..', 'shared', 'real-tools');
const SHIPPED = ['everything', 'memory', 'filesystem'];
async function servedDefinitions(configFile, label) {
    const gateway = await startGatewayCli(configFile);
    try {
        const client = await httpClient(gateway.url, '2025');
        try {
            const result = (await client.request({ method: 'tools/list', params: {} }));
            const json = JSON.stringify(result.tools);
            return { label, tools: result.tools.length, chars: json.length, tokens: countTokens(json) };
        }
        finally {
            await closeQuietly(client);
        }
    }
    finally {
        await gateway.child.stop();
    }
}
function flat(servers, label) {
    const tools = [];
    for (const server of servers) {
        const file = join(REAL_TOOLS, `server-${server}.json`);
        if (!existsSync(file))
            return undefined;
        tools.push(...JSON.parse(readFileSync(file, 'utf8')).tools);
    }
    const json = JSON.stringify(tools);
    return { label, tools: tools.length, chars: json.length, tokens: countTokens(json) };
}
export async function measureFootprint() {
    const gatewayShipped = await servedDefinitions(join(repoRoot, 'gateway.yaml'), 'gateway, shipped gateway.yaml (3 backends)');
    const gateway50 = await servedDefinitions(writeManyBackendsConfig(50), 'gateway, 50 backends');
    const all = existsSync(REAL_TOOLS)
        ? readdirSync(REAL_TOOLS)
            .filter((f) => /^server-.+\.json$/.test(f))
            .map((f) => f.slice('server-'.length, -'.json'.length))
            .sort()
        : [];
    return {
        gatewayShipped,
        gateway50,
        flatShipped: flat(SHIPPED, `flat, ${SHIPPED.join('+')}`),
        flatAll: all.length > 0 ? flat(all, `flat, all ${all.length} real-tools servers`) : undefined,
        realToolsDir: REAL_TOOLS,
    };
}
