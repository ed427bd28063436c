/**
 * The known shortfalls of the passthrough against the direct run (conformance/baseline.json), so that CI
 * fails on a new shortfall or on a known one getting worse, and says which known ones now match (to be
 * removed from the file). Each entry records both runs as measured and why the passthrough falls short.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioScore } from './conformance-suite.js';

export const BASELINE_FILE = join(fileURLToPath(new URL('..', import.meta.url)), 'conformance/baseline.json');

export interface Checks {
  passed: number;
  failed: number;
}

export interface BaselineEntry {
  direct: Checks;
  through: Checks;
  why: string;
}

/** revision → scenario → entry. */
export type Baseline = Record<string, Record<string, BaselineEntry>>;

export interface RunScores {
  spec: string;
  direct: ScenarioScore[];
  passthrough?: ScenarioScore[];
}

export interface Verdict {
  /** Scored scenarios the fixture fails on its own. */
  fixtureFailures: string[];
  /** Shortfalls not in the baseline. */
  newShortfalls: string[];
  /** Baseline entries the passthrough now does worse than recorded. */
  worse: string[];
  /** Baseline entries the passthrough now matches: remove them from the file. */
  nowMatching: string[];
}

export function loadBaseline(file = BASELINE_FILE): Baseline {
  return JSON.parse(readFileSync(file, 'utf8')) as Baseline;
}

/** The passthrough falls short when it passes fewer checks, or fails more, than the direct run. */
function short(direct: Checks, through: Checks): boolean {
  return through.passed < direct.passed || through.failed > direct.failed;
}

const show = (c: Checks) => `${c.passed}/${c.failed}`;

/** Judges one revision's runs against its baseline; every finding is a readable line. */
export function judge(run: RunScores, baseline: Baseline): Verdict {
  const known = baseline[run.spec] ?? {};
  const through = new Map(run.passthrough?.map((s) => [s.scenario, s]));
  const verdict: Verdict = { fixtureFailures: [], newShortfalls: [], worse: [], nowMatching: [] };
  for (const direct of run.direct) {
    if (!direct.unscored && direct.failed > 0) verdict.fixtureFailures.push(`${run.spec} ${direct.scenario}: ${show(direct)}`);
    const got = through.get(direct.scenario) ?? { passed: 0, failed: 0 };
    const entry = known[direct.scenario];
    const line = `${run.spec} ${direct.scenario}: direct ${show(direct)}, through ${show(got)}`;
    if (!entry) {
      if (short(direct, got)) verdict.newShortfalls.push(line);
    } else if (!short(direct, got)) {
      verdict.nowMatching.push(`${line} (in the baseline: remove it)`);
    } else if (short(entry.through, got)) {
      verdict.worse.push(`${line} (baseline: through ${show(entry.through)})`);
    }
  }
  const scenarios = new Set(run.direct.map((s) => s.scenario));
  for (const scenario of Object.keys(known)) {
    if (!scenarios.has(scenario)) verdict.nowMatching.push(`${run.spec} ${scenario}: no longer run (in the baseline: remove it)`);
  }
  return verdict;
}

/** Whether the verdict fails the comparison (baseline entries that now match only get reported). */
export function failing(verdict: Verdict): boolean {
  return verdict.fixtureFailures.length + verdict.newShortfalls.length + verdict.worse.length > 0;
}

export function formatVerdict(verdict: Verdict): string {
  const part = (title: string, lines: string[]) => (lines.length ? [`${title}:`, ...lines.map((l) => `  ${l}`)] : []);
  return [
    ...part('fixture fails on its own', verdict.fixtureFailures),
    ...part('new shortfalls through the gateway', verdict.newShortfalls),
    ...part('baseline entries got worse', verdict.worse),
    ...part('baseline entries that now match', verdict.nowMatching),
  ].join('\n');
}
