import { afterAll, describe, expect, it } from 'vitest';
import { BackendPool } from '../src/backends/pool.js';
import { parseConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { FAILSAFE_DEFAULTS, type Failsafes } from '../src/config/schema.js';
import { BusyError, CallGuard, CircuitOpenError } from '../src/sources/failsafes.js';
import { ConnectionLostError, type ToolSource } from '../src/sources/source.js';
import { eventually, fixtureBackend, repoRoot } from './helpers.js';

/**
 * Faults cost only what they must (issue 18), at the backend level with real fixture processes:
 * one crash fails the calls that were at the backend and counts once toward the circuit; an open
 * circuit lets its probe through as soon as the backend has restarted; the concurrency queue serves
 * callers in turn and refuses by waiting time.
 */

const pools: BackendPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function backendOf(config: Record<string, unknown>): ToolSource {
  const parsed = parseConfig(JSON.stringify({ backends: { b: config } }), { file: `${repoRoot}/test/inline.yaml` });
  const pool = new BackendPool({ logger: silentLogger(), onToolsChanged: () => {}, onRemoved: () => {} });
  pool.apply(parsed.backends);
  pools.push(pool);
  return pool.get('b')!;
}

const settle = <T>(work: Promise<T>) =>
  work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

/** Start `n` slow calls, wait until the backend is running all of them, then crash it; returns every call's outcome. */
async function crashUnderLoad(backend: ToolSource, n: number) {
  const calls = Array.from({ length: n }, () => settle(backend.callTool('slow', { ms: 20_000 })));
  await eventually(() => backend.busy, 'calls in flight');
  // Written to the same pipe after the slow calls, so it reaches the process after them.
  const crash = settle(backend.callTool('crash', {}));
  return Promise.all([...calls, crash]);
}

describe('one crash under load', () => {
  it('fails only the calls at the backend, counts as one fault, and the next call restarts it', async () => {
    const backend = backendOf(fixtureBackend(['--name', 'crash1'], { circuit_breaker: { failures: 2, reset_ms: 60_000 } }));
    await backend.listTools();
    const outcomes = await crashUnderLoad(backend, 8);
    for (const outcome of outcomes) expect('error' in outcome && outcome.error).toBeInstanceOf(ConnectionLostError);

    // Nine calls failed together; with failures: 2 the circuit would be open if each counted.
    expect(backend.status().circuit).toBe('closed');
    const after = await backend.callTool('echo', { n: 1 });
    expect(after.structuredContent).toEqual({ echoed: { n: 1 } });
  });
});

describe('an open circuit', () => {
  it('says how many faults and calls opened it, and closes as soon as a restart and a probe work', async () => {
    const backend = backendOf(fixtureBackend(['--name', 'crash2'], { circuit_breaker: { failures: 2, reset_ms: 60_000 } }));
    await backend.listTools();
    await crashUnderLoad(backend, 3); // fault 1: four calls
    const second = await crashUnderLoad(backend, 2); // fault 2 (after an automatic restart): three calls
    expect(second.every((o) => 'error' in o && o.error instanceof ConnectionLostError)).toBe(true);
    expect(backend.status().circuit).toBe('open');

    const refused = await settle(backend.callTool('echo', {}));
    expect('error' in refused && refused.error).toBeInstanceOf(CircuitOpenError);
    expect(String((refused as { error: Error }).error.message)).toMatch(
      /2 faults in a row \(7 failed calls\); its circuit is open; retry in \d+ s/,
    );

    // reset_ms is 60 s: half-open now means the background restart let the probe through early.
    await eventually(() => backend.status().circuit === 'half-open', 'the circuit admits a probe after the restart', 200);
    const probe = await backend.callTool('echo', { probe: true });
    expect(probe.structuredContent).toEqual({ echoed: { probe: true } });
    expect(backend.status().circuit).toBe('closed');
  });
});

describe('the concurrency queue', () => {
  it('serves waiting callers in turn: one call of a second caller does not wait behind a flood', async () => {
    const backend = backendOf(fixtureBackend(['--name', 'fair'], { max_concurrent: 1, max_queue: 100 }));
    await backend.listTools();
    const order: string[] = [];
    const call = (caller: string, tag: string) => backend.callTool('slow', { ms: 50 }, { caller }).then(() => order.push(tag));
    const blocker = call('flood', 'f0');
    await eventually(() => backend.busy, 'the first call runs');
    const flood = Array.from({ length: 6 }, (_, i) => call('flood', `f${i + 1}`));
    const single = call('single', 's');
    await Promise.all([blocker, ...flood, single]);
    // FIFO would run s last (after f1..f6); in turn, right after the flood's first waiting call.
    expect(order.indexOf('s')).toBe(2);
  });

  it('refuses a call that waited max_queue_wait_ms for a slot with busy, saying so', async () => {
    const settings = { ...FAILSAFE_DEFAULTS, maxConcurrent: 1, maxQueueWaitMs: 100 } as Failsafes;
    const guard = new CallGuard('b', settings, () => false);
    let release!: () => void;
    const running = guard.run(() => new Promise<void>((resolve) => (release = resolve)));
    const waited = await settle(guard.run(async () => 'ran'));
    expect('error' in waited && waited.error).toBeInstanceOf(BusyError);
    expect((waited as { error: Error }).error.message).toMatch(/^b is busy: the call waited \d+ ms while 1 calls were running/);
    release();
    await running;
    expect(await guard.run(async () => 'ran')).toBe('ran'); // the slot came back
  });
});
