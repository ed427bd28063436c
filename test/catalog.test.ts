import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogFetcher, QUEUED_TO_START, STILL_STARTING } from '../src/backends/catalog.js';
import { BackendPool, type CatalogEntry } from '../src/backends/pool.js';
import type { ToolSource } from '../src/sources/source.js';
import { parseConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { eventually, fixtureBackend, repoRoot } from './helpers.js';
import { isLive } from './procfs.js';

/**
 * BackendPool.catalog with a wait budget, at the pool level with real fixture processes: a backend
 * that never answers `initialize` must not hold up the others' tool lists, must be started once
 * (not once per call), and a backend that fails must back off instead of restarting on every call.
 * "Answered in time" is shown by states, not clocks: the hung backend's connect timeout is 60 s,
 * so while it is reported `starting` its start is still under way.
 */

const work = mkdtempSync(join(tmpdir(), 'gw-catalog-'));
const spawnLog = (name: string) => join(work, `${name}.spawns`);
const spawns = (name: string) => (existsSync(spawnLog(name)) ? readFileSync(spawnLog(name), 'utf8').split('\n').filter(Boolean) : []);

function poolOf(backends: Record<string, Record<string, unknown>>): BackendPool {
  const config = parseConfig(JSON.stringify({ backends }), { file: `${repoRoot}/test/inline.yaml` });
  const pool = new BackendPool({ logger: silentLogger(), onToolsChanged: () => {}, onRemoved: () => {} });
  pool.apply(config.backends);
  return pool;
}

const byName = (entries: CatalogEntry[]) => Object.fromEntries(entries.map((e) => [e.source.name, e]));
const withSpawnLog = (name: string, flags: string[], extra: Record<string, unknown> = {}) =>
  fixtureBackend([...flags, '--name', name], { env: { FIXTURE_SPAWN_LOG: spawnLog(name) }, ...extra });

const pools: BackendPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(work, { recursive: true, force: true });
});

describe('catalog with waitMs beside a backend that never answers initialize', () => {
  it('answers with the normal backend’s tools and the hung one as starting, every time, starting it once', async () => {
    const pool = poolOf({
      hung: withSpawnLog('hung', ['--hang-initialize'], { connect_timeout_ms: 60_000 }),
      normal: withSpawnLog('normal', []),
    });
    pools.push(pool);

    // The normal backend may need more than one budget to start on a busy machine; the hung one never answers.
    const first = await eventually(async () => {
      const entries = byName(await pool.catalog(undefined, { waitMs: 750 }));
      expect(entries.hung).toEqual({ source: pool.get('hung'), error: 'still starting', state: 'starting' });
      return 'tools' in entries.normal! ? entries : undefined;
    }, 'the normal backend’s tools in a catalog answer');
    expect(('tools' in first.normal! ? first.normal.tools : []).map((t) => t.name)).toContain('echo');

    for (let i = 0; i < 5; i++) {
      const entries = byName(await pool.catalog(undefined, { waitMs: 750 }));
      expect('tools' in entries.normal! && entries.normal.tools.length).toBeGreaterThan(0);
      expect(entries.hung).toMatchObject({ error: 'still starting', state: 'starting' });
      expect(pool.get('hung')!.status().state).toBe('starting'); // its 60 s connect timeout has not run out
    }
    // One shared start, not one per call.
    expect(spawns('hung')).toHaveLength(1);
    expect(spawns('normal')).toHaveLength(1);
  });

  it('a stop abandons the hung start and ends its process', async () => {
    const pool = poolOf({ hung2: withSpawnLog('hung2', ['--hang-initialize'], { connect_timeout_ms: 60_000 }) });
    pools.push(pool);
    expect(byName(await pool.catalog(undefined, { waitMs: 200 })).hung2).toMatchObject({ state: 'starting' });
    const pid = await eventually(() => spawns('hung2').map(Number)[0], 'the hung fixture started');
    expect(isLive(pid)).toBe(true);
    await pool.close();
    expect(isLive(pid)).toBe(false);
    expect(pool.get('hung2')!.status().state).toBe('idle');
  });
});

describe('catalog and a backend that fails to start', () => {
  it('reports state error with its stderr, and backs off instead of restarting on each call', async () => {
    const pool = poolOf({ broken: withSpawnLog('broken', ['--exit-at-start']), fine: withSpawnLog('fine', []) });
    pools.push(pool);
    const first = byName(await pool.catalog(undefined, { waitMs: 30_000 }));
    expect(first.broken).toMatchObject({ state: 'error' });
    expect('error' in first.broken! && first.broken.error).toContain('fixture refusing to start');
    expect('tools' in first.fine!).toBe(true);

    // The first failure may restart at once; after the second, restarts wait (1 s, 2 s, ...).
    await pool.catalog(undefined, { waitMs: 30_000 });
    const started = spawns('broken').length;
    for (let i = 0; i < 5; i++) {
      const entries = byName(await pool.catalog(undefined, { waitMs: 30_000 }));
      expect(entries.broken).toMatchObject({ state: 'error' });
      expect('error' in entries.broken! && entries.broken.error).toMatch(/fixture refusing to start.*next restart attempt in \d+ s/s);
    }
    expect(spawns('broken')).toHaveLength(started);
    expect(started).toBe(2);
  });
});

describe('CatalogFetcher start slots', () => {
  /** A source whose first listing waits until `release()`: the shape of a slow start, no process needed. */
  function slowSource(name: string) {
    let release!: () => void;
    const listed = new Promise<void>((resolve) => (release = resolve));
    let starts = 0;
    const source = {
      name,
      fingerprint: name,
      cachedTools: undefined as readonly { name: string; inputSchema: { type: 'object' } }[] | undefined,
      busy: false,
      status: () => ({ state: starts > 0 && !source.cachedTools ? 'starting' : 'idle' }),
      listTools: async () => {
        starts++;
        await listed;
        source.cachedTools = [{ name: `${name}_tool`, inputSchema: { type: 'object' } }];
        return source.cachedTools;
      },
      callTool: async () => ({ content: [] }),
      stop: async () => {},
    };
    return { source: source as unknown as ToolSource, release, starts: () => starts };
  }

  it('runs at most `concurrency` starts, names the waiting ones as queued, and hands the slot on', async () => {
    const a = slowSource('a');
    const b = slowSource('b');
    const fetcher = new CatalogFetcher(1, () => true);
    const first = await fetcher.fetch([a.source, b.source], 30);
    expect(first.map((e) => ('error' in e ? e.error : 'tools'))).toEqual([STILL_STARTING, QUEUED_TO_START]);
    expect([a.starts(), b.starts()]).toEqual([1, 0]);
    a.release();
    b.release();
    const done = await fetcher.fetch([a.source, b.source]);
    expect(done.map((e) => ('tools' in e ? e.tools.map((t) => t.name) : e.error))).toEqual([['a_tool'], ['b_tool']]);
    expect([a.starts(), b.starts()]).toEqual([1, 1]);
  });

  it('never starts a source that a reload removed while it waited for a slot', async () => {
    const a = slowSource('a');
    const b = slowSource('b');
    let current = true;
    const fetcher = new CatalogFetcher(1, (source) => source === a.source || current);
    const waiting = fetcher.fetch([a.source, b.source]);
    current = false;
    a.release();
    b.release();
    const [, removed] = await waiting;
    expect(removed).toMatchObject({ error: 'removed from the configuration' });
    expect(b.starts()).toBe(0);
  });
});
