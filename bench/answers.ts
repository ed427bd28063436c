/**
 * Answer size: what a client's model receives for the typical meta-tool answers, served by the built
 * gateway (dist/cli.js) with the shipped gateway.yaml. Claude Code hands its model only the text content
 * of a result (it drops structuredContent), so the text is what is measured: characters, and o200k_base
 * tokens of that text (gpt-tokenizer).
 *   list_servers                         — the shipped config's three backends
 *   list_tools {server: filesystem}      — one real reference server's whole list
 *   search_tools {query, limit: 5}       — a five-result search
 *
 *   node --import tsx bench/answers.ts   (also part of `npm run bench`, section `footprint`)
 */
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { closeQuietly, httpClient, repoRoot, startGatewayCli } from './util.js';

export interface AnswerSize {
  label: string;
  chars: number;
  tokens: number;
}

const CALLS: Array<{ label: string; name: string; args: Record<string, unknown> }> = [
  { label: 'list_servers (shipped config)', name: 'list_servers', args: {} },
  { label: 'list_tools filesystem', name: 'list_tools', args: { server: 'filesystem' } },
  { label: 'search_tools "read a file", 5 results', name: 'search_tools', args: { query: 'read a file', limit: 5 } },
];

export async function measureAnswers(configFile = join(repoRoot, 'gateway.yaml')): Promise<AnswerSize[]> {
  const gateway = await startGatewayCli(configFile);
  try {
    const client = await httpClient(gateway.url, '2025');
    try {
      // Warm up: every backend listed once, so the measured answers are complete.
      for (let i = 0; i < 50; i++) {
        const warm = await client.callTool({ name: 'list_servers', arguments: {} });
        const servers = (warm.structuredContent as { servers?: Array<{ state: string }> } | undefined)?.servers ?? [];
        if (servers.every((s) => s.state === 'ready' || s.state === 'idle')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const sizes: AnswerSize[] = [];
      for (const call of CALLS) {
        const result = await client.callTool({ name: call.name, arguments: call.args });
        const text = (result.content ?? [])
          .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
          .map((c) => c.text)
          .join('\n');
        sizes.push({ label: call.label, chars: text.length, tokens: countTokens(text) });
      }
      return sizes;
    } finally {
      await closeQuietly(client);
    }
  } finally {
    await gateway.child.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const size of await measureAnswers(process.argv[2])) {
    process.stdout.write(`${size.label.padEnd(40)} ${String(size.chars).padStart(7)} chars ${String(size.tokens).padStart(6)} tokens\n`);
  }
  process.exit(0);
}
