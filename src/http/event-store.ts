import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

export interface EventStoreLimits {
  /** Events kept; storing one more forgets the oldest. */
  maxEvents: number;
  /** Bytes of JSON kept; storing one more forgets the oldest until it fits. */
  maxBytes: number;
}

interface StoredEvent {
  streamId: StreamId;
  /** Kept serialized: its size is what the bound counts, and the message object can be collected. */
  json: string;
  bytes: number;
}

/**
 * One 2025 session's recent SSE events, so a client whose stream dropped can reconnect with
 * `Last-Event-ID` and get what it missed. Bounded per session: the newest `maxEvents` events within
 * `maxBytes`; a message larger than `maxBytes` is not kept and forgets everything before it. Event ids
 * are consecutive numbers and only the newest are kept, so an event still held has every later event
 * held too: a resume either gets everything it missed or is refused (its event id is no longer known).
 */
export class BoundedEventStore implements EventStore {
  /** Oldest first; the event at index i has id `first + i`. */
  private events: StoredEvent[] = [];
  private first = 0;
  private bytes = 0;

  /** `onStored` sees every message stored (the session learns from it which requests were answered). */
  constructor(
    private readonly limits: EventStoreLimits,
    private readonly onStored: (streamId: StreamId, message: JSONRPCMessage) => void = () => {},
  ) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.onStored(streamId, message);
    const id = this.first + this.events.length;
    const json = JSON.stringify(message);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.limits.maxBytes) {
      // Not kept: forget all before it too, so no resume can silently skip it.
      this.events = [];
      this.bytes = 0;
      this.first = id + 1;
      return String(id);
    }
    this.events.push({ streamId, json, bytes });
    this.bytes += bytes;
    while (this.events.length > this.limits.maxEvents || this.bytes > this.limits.maxBytes) {
      const dropped = this.events.shift();
      this.bytes -= dropped?.bytes ?? 0;
      this.first++;
    }
    return String(id);
  }

  /** The stream an event belongs to, or undefined when the id is not one this store still holds. */
  streamOf(eventId: EventId): StreamId | undefined {
    return this.at(eventId)?.streamId;
  }

  // No getStreamIdForEventId, on purpose: with it the SDK refuses (409) a resume of a stream it still
  // thinks connected, which after a network change is the usual case (the old connection is half-open);
  // without it the SDK closes the old connection and continues the stream on the new one.

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.at(lastEventId);
    if (!last) throw new Error(`event ${lastEventId} is no longer held`);
    // A copy: sending may store new events.
    const after = this.events.slice(Number(lastEventId) - this.first + 1);
    const from = Number(lastEventId) + 1;
    for (const [i, event] of after.entries()) {
      if (event.streamId === last.streamId) await send(String(from + i), JSON.parse(event.json) as JSONRPCMessage);
    }
    return last.streamId;
  }

  private at(eventId: EventId): StoredEvent | undefined {
    if (!/^\d{1,15}$/.test(eventId)) return undefined;
    return this.events[Number(eventId) - this.first];
  }
}
