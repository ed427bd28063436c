import type { AuditRecord } from './audit.js';
import type { EventBus } from './events.js';
import { KeyLabels, type SourceLookup, toolLabels } from './labels.js';

/** One row of usage: every invoke counts; an error is any outcome but "ok" (tool errors included). */
export interface UsageTotals {
  calls: number;
  errors: number;
  duration_ms: number;
  /** JSON arguments, in bytes. */
  bytes_in: number;
  /** JSON results, in bytes (counted when the invoke record carries result_bytes). */
  bytes_out: number;
}

export interface UsageSnapshot {
  /** When counting began (the gateway's start): the counters live in memory only. */
  since: string;
  tools: Array<{ server: string; tool: string } & UsageTotals>;
  keys: Array<{ key: string } & UsageTotals>;
}

const empty = (): UsageTotals => ({ calls: 0, errors: 0, duration_ms: 0, bytes_in: 0, bytes_out: 0 });

/**
 * Calls, errors, time and bytes per tool and per key, from the `invoke` events. Labels are bounded like
 * the metrics' (unknown names fold into "(unknown)", keys past 200 into "(other)"), so memory is too.
 */
export class UsageCounters {
  private readonly since = new Date().toISOString();
  private readonly byTool = new Map<string, { server: string; tool: string; totals: UsageTotals }>();
  private readonly byKey = new Map<string, UsageTotals>();
  private readonly keyLabels = new KeyLabels();

  constructor(
    private readonly pool: SourceLookup,
    events: EventBus,
  ) {
    events.on('invoke', (record) => this.count(record));
  }

  private count(record: AuditRecord): void {
    const labels = toolLabels(this.pool, record.server, record.tool);
    const id = `${labels.server}\u0000${labels.tool}`;
    let row = this.byTool.get(id);
    if (!row) {
      row = { ...labels, totals: empty() };
      this.byTool.set(id, row);
    }
    add(row.totals, record);
    const key = this.keyLabels.label(record.key);
    let totals = this.byKey.get(key);
    if (!totals) {
      totals = empty();
      this.byKey.set(key, totals);
    }
    add(totals, record);
  }

  /** Both tables, busiest first. */
  snapshot(): UsageSnapshot {
    const byCalls = (a: UsageTotals, b: UsageTotals) => b.calls - a.calls;
    return {
      since: this.since,
      tools: [...this.byTool.values()].map(({ server, tool, totals }) => ({ server, tool, ...totals })).sort(byCalls),
      keys: [...this.byKey].map(([key, totals]) => ({ key, ...totals })).sort(byCalls),
    };
  }
}

function add(totals: UsageTotals, record: AuditRecord): void {
  totals.calls++;
  if (record.outcome !== 'ok') totals.errors++;
  totals.duration_ms += record.duration_ms;
  totals.bytes_in += record.arg_bytes;
  totals.bytes_out += record.result_bytes ?? 0;
}
