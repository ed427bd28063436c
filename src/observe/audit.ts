import type { Logger } from '../log.js';
import type { EventBus } from './events.js';

/** One `invoke` (or a refused one): who, what, how it ended. Never argument values. */
export interface AuditRecord {
  time: string;
  /** The principal's name (the key name, the token's subject, or "local"). */
  key: string;
  server: string;
  tool: string;
  /** "ok", "tool_error" (the tool answered isError), or the gateway's error code. */
  outcome: string;
  duration_ms: number;
  /** Size of the JSON arguments, in bytes. */
  arg_bytes: number;
  /** Size of the JSON result, in bytes, when the emitter measured it (usage shows bytes out from it). */
  result_bytes?: number;
}

/** How many records the in-memory ring keeps for /admin/calls. */
export const RECENT_RECORDS = 500;

/** Writes each invoke record as one structured log line and keeps the most recent ones in memory. */
export class AuditLog {
  private readonly ring: AuditRecord[] = [];
  private next = 0;

  constructor(
    private readonly logger: Logger,
    events: EventBus,
  ) {
    events.on('invoke', (record) => this.record(record));
  }

  private record(record: AuditRecord): void {
    this.logger.info({ audit: record }, 'invoke');
    if (this.ring.length < RECENT_RECORDS) this.ring.push(record);
    else this.ring[this.next] = record;
    this.next = (this.next + 1) % RECENT_RECORDS;
  }

  /** The newest `limit` records, newest first. */
  recent(limit = 50): AuditRecord[] {
    const ordered = this.ring.length < RECENT_RECORDS ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.slice(-limit).reverse();
  }
}
