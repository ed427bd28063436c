/**
 * `npm run conformance`: the MCP conformance suite against the conformance fixture directly, then against
 * the same fixture through the gateway's per-backend passthrough (`/mcp/conformance`, the fixture as an
 * HTTP backend), for each protocol revision. Prints both score tables and the verdict against
 * conformance/baseline.json (the known shortfalls): exits 1 when the fixture fails a scored scenario on its
 * own, the passthrough falls short anywhere outside the baseline or does worse than a baseline entry (or is
 * not served), 2 when the suite is missing. Baseline entries that now match are printed, not failed.
 *
 *   node --import tsx bench/conformance.ts [--spec 2025-11-25|2026-07-28]...
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/server.js';
import { failing, formatVerdict, judge, loadBaseline } from './conformance-baseline.js';
import { locateSuite, runSuite, SPEC_VERSIONS, type ScenarioScore, type SpecVersion, type Suite } from './conformance-suite.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const CONFORMANCE_FIXTURE = join(repoRoot, 'test/fixtures/conformance-server.mjs');
const BACKEND = 'conformance';

export interface ConformanceRun {
  spec: SpecVersion;
  direct: ScenarioScore[];
  /** Undefined when the gateway does not serve the passthrough. */
  passthrough?: ScenarioScore[];
}

export interface ConformanceReport {
  runs: ConformanceRun[];
  /** Why the passthrough was not run, if it was not. */
  passthroughMissing?: string;
  seconds: number;
}

/** Starts the fixture and a gateway in front of it, runs the suite against both, and stops everything. */
export async function runConformance(suite: Suite, specs: readonly SpecVersion[] = SPEC_VERSIONS): Promise<ConformanceReport> {
  const started = performance.now();
  const output = mkdtempSync(join(tmpdir(), 'conformance-'));
  const fixture = await startFixture();
  const gateway = await startGateway(
    parseConfig(JSON.stringify({ server: { port: 0 }, backends: { [BACKEND]: { url: fixture.url } } }), {
      file: join(repoRoot, 'conformance/inline.yaml'),
    }),
  );
  try {
    const passthroughUrl = `${gateway.url}/${BACKEND}`;
    const passthroughMissing = await passthroughProblem(passthroughUrl);
    const runs: ConformanceRun[] = [];
    for (const spec of specs) {
      const direct = await runSuite(suite, fixture.url, spec, join(output, `direct-${spec}`));
      const passthrough = passthroughMissing ? undefined : await runSuite(suite, passthroughUrl, spec, join(output, `passthrough-${spec}`));
      runs.push({ spec, direct, passthrough });
    }
    return { runs, passthroughMissing, seconds: (performance.now() - started) / 1000 };
  } finally {
    await gateway.close();
    fixture.child.kill('SIGTERM');
    rmSync(output, { recursive: true, force: true });
  }
}

/** One Markdown table per revision: passed/failed checks per scenario, direct and through the gateway. */
export function formatReport(report: ConformanceReport): string {
  const blocks: string[] = [];
  for (const run of report.runs) {
    const through = new Map(run.passthrough?.map((s) => [s.scenario, s]));
    const cell = (s: ScenarioScore | undefined) => (s ? `${s.passed} / ${s.failed}` : '—');
    const lines = [
      `### ${run.spec}`,
      '',
      `| scenario | direct (passed / failed) | through /mcp/${BACKEND} |`,
      '|---|---|---|',
      ...run.direct.map((s) => {
        const name = s.unscored ? `${s.scenario} (not scored: ${s.unscored})` : s.scenario;
        return `| ${name} | ${cell(s)} | ${run.passthrough ? cell(through.get(s.scenario)) : 'not run'} |`;
      }),
    ];
    const total = (scores: ScenarioScore[]) => {
      const scored = scores.filter((s) => !s.unscored);
      return `${scored.reduce((n, s) => n + s.passed, 0)} / ${scored.reduce((n, s) => n + s.failed, 0)}`;
    };
    lines.push(`| **scored total** | **${total(run.direct)}** | **${run.passthrough ? total(run.passthrough) : 'not run'}** |`);
    blocks.push(lines.join('\n'));
  }
  if (report.passthroughMissing) blocks.push(`Passthrough not run: ${report.passthroughMissing}`);
  blocks.push(`Took ${report.seconds.toFixed(1)} s.`);
  return blocks.join('\n\n');
}

async function startFixture(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CONFORMANCE_FIXTURE], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    const seen: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      seen.push(line);
      const ready = /ready pid=\d+ url=(\S+)/.exec(line);
      if (ready) resolve(ready[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the conformance fixture exited (${code}):\n${seen.join('\n')}`)));
  });
  return { child, url };
}

/** Whether the gateway serves `/mcp/{backend}`: an initialize it does not route answers 404. */
async function passthroughProblem(url: string): Promise<string | undefined> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'conformance-probe', version: '1' } },
    }),
  });
  await response.body?.cancel();
  return response.status === 404 ? `${url} answers 404 (this gateway does not serve /mcp/{backend})` : undefined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { spec: { type: 'string', multiple: true } } });
  const specs = (values.spec ?? [...SPEC_VERSIONS]) as SpecVersion[];
  const unknown = specs.filter((s) => !(SPEC_VERSIONS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`conformance: unknown --spec ${unknown.join(', ')} (known: ${SPEC_VERSIONS.join(', ')})\n`);
    return 2;
  }
  const suite = locateSuite();
  if ('problem' in suite) {
    process.stderr.write(`conformance: ${suite.problem}\n`);
    return 2;
  }
  const baseline = loadBaseline();
  const report = await runConformance(suite, specs);
  process.stdout.write(`${formatReport(report)}\n`);
  let failed = Boolean(report.passthroughMissing);
  for (const run of report.runs) {
    const verdict = judge(run, baseline);
    failed ||= failing(verdict);
    const text = formatVerdict(verdict);
    process.stdout.write(
      `\n${run.spec} against conformance/baseline.json: ${failing(verdict) ? 'FAIL' : 'ok'}${text ? `\n${text}` : ''}\n`,
    );
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`conformance: ${error instanceof Error ? error.stack : error}\n`);
      process.exit(1);
    },
  );
}
