import type { AuditRecord } from './audit.js';

/** What the gateway reports as it works; audit, metrics and usage counters subscribe, nothing calls them directly. */
export interface GatewayEvents {
  /** One invoke ended (or was refused before reaching a backend). */
  invoke: AuditRecord;
  /** One search_tools answered. */
  search: { key: string; duration_ms: number; results: number };
  /** A config reload ended. */
  reload: { ok: boolean };
  /** An admin start/stop/restart of one server ended. */
  operation: { key: string; server: string; operation: 'start' | 'stop' | 'restart'; ok: boolean };
}

type Listener<K extends keyof GatewayEvents> = (event: GatewayEvents[K]) => void;

/** A small typed event bus. A listener that throws is dropped from that emit, never from the caller's path. */
export class EventBus {
  private readonly listeners: { [K in keyof GatewayEvents]?: Array<Listener<K>> } = {};

  on<K extends keyof GatewayEvents>(name: K, listener: Listener<K>): () => void {
    this.listeners[name] ??= [];
    const list = this.listeners[name] as Array<Listener<K>>;
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  emit<K extends keyof GatewayEvents>(name: K, event: GatewayEvents[K]): void {
    for (const listener of (this.listeners[name] ?? []) as Array<Listener<K>>) {
      try {
        listener(event);
      } catch {
        // An observer's fault must not fail the call it observes.
      }
    }
  }
}
