import { describe, expect, it } from 'vitest';
import { formatReport, runConformance, shortfalls } from '../bench/conformance.js';
import { locateSuite } from '../bench/conformance-suite.js';

/**
 * The MCP conformance suite (both protocol revisions it can require) against the conformance fixture
 * directly and through the gateway's `/mcp/conformance` passthrough: the fixture must pass every scored
 * scenario on its own, and the passthrough must pass every check the direct run passes. Needs the suite
 * and a Node 22 installed by `npm ci --prefix conformance` (see bench/conformance-suite.ts).
 */
describe('conformance suite, direct and through /mcp/{backend}', () => {
  it('the passthrough scores what the fixture scores on its own, for 2025-11-25 and 2026-07-28', { timeout: 240_000 }, async () => {
    const suite = locateSuite();
    if ('problem' in suite) expect.fail(suite.problem);
    const report = await runConformance(suite);
    const tables = formatReport(report);
    expect(report.passthroughMissing, tables).toBeUndefined();
    for (const run of report.runs) {
      const fixtureFailures = run.direct.filter((s) => !s.unscored && s.failed > 0).map((s) => s.scenario);
      expect(fixtureFailures, `${run.spec}: the fixture alone fails scored scenarios\n${tables}`).toEqual([]);
      expect(shortfalls(run), `${run.spec}: passed fewer checks through the gateway\n${tables}`).toEqual([]);
    }
  });
});
