import { load as loadYaml } from 'js-yaml';
import { type Document, isMap, LineCounter, parseDocument } from 'yaml';

/**
 * Reading YAML text and locating problems in it, shared by gateway.yaml and capability files.
 *
 * Two parsers, one reading: js-yaml turns text into a value about three times faster than `yaml` builds
 * its document (~30 ms for the shipped capability files, ~60 ms for a 50-backend config at start-up), so
 * plain text takes that path; `yaml`'s document, with line and column for every node, is built only when a
 * problem needs a place. Both read YAML 1.2 with its core schema and reject duplicate keys. Text where
 * the two could read differently goes to `yaml` whole: a directive (`%YAML 1.1` switches `yaml` to the
 * 1.1 schema; js-yaml ignores it), any alias (`yaml` bounds alias expansion; js-yaml would hand back
 * shared nodes for the checks to walk), a null key, a key over 1,024 characters, a float too large for
 * a number.
 */

export type Locate = (path: (string | number)[], atKey?: boolean) => { line?: number; col?: number };

/** Marks text js-yaml should not read; the caller parses it with `yaml`, which also says where a problem is. */
export const UNREADABLE: unique symbol = Symbol('unreadable YAML');

export function readYamlQuickly(text: string): unknown {
  if (/^%/m.test(text)) return UNREADABLE;
  let value: unknown;
  try {
    value = loadYaml(text, { maxAliases: 0 });
  } catch {
    return UNREADABLE;
  }
  return readsDifferently(value) ? UNREADABLE : value;
}

/** js-yaml's null key is "null" (yaml's is ""); "1e400" stays a string (yaml's is Infinity). */
const NULL_KEYS = new Set(['null', 'Null', 'NULL', '~']);
const FLOAT = /^[-+]?(\.\d+|\d+(\.\d*)?)([eE][-+]?\d+)?$/;

function readsDifferently(value: unknown): boolean {
  if (typeof value === 'string') return FLOAT.test(value) && !Number.isFinite(Number(value));
  if (Array.isArray(value)) return value.some(readsDifferently);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, v]) => NULL_KEYS.has(key) || key.length > 1024 || readsDifferently(v));
  }
  return false;
}

/** The mapping a file holds, read quickly; undefined when it holds something else or js-yaml should not read it. */
export function readMappingQuickly(text: string): Record<string, unknown> | undefined {
  const value = readYamlQuickly(text);
  return value !== UNREADABLE && value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export type LocatedYaml =
  | { problems: { message: string; line?: number; col?: number }[] }
  | { value: unknown; shape: 'mapping' | 'empty' | 'other'; locate: Locate };

/** The slow path: `yaml`'s document, so that every syntax error and every later problem has its line:col. */
export function parseLocated(text: string): LocatedYaml {
  const { doc, lines } = documentOf(text);
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { message: e.message.split('\n')[0]!, line: pos.line, col: pos.col };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // `yaml` throws (a ReferenceError) when expanding aliases would exceed its bound, an alias bomb:
    // a problem with the text, reported like a syntax error.
    return { problems: [{ message: error instanceof Error ? error.message : String(error) }] };
  }
  const shape = isMap(doc.contents) ? 'mapping' : doc.contents === null ? 'empty' : 'other';
  return { value, shape, locate: (path, atKey) => locateNode(doc, lines, path, atKey) };
}

/** A Locate that parses `text` with `yaml` on its first use, for text that was read quickly. */
export function lazyLocator(text: string): Locate {
  let located: { doc: Document; lines: LineCounter } | undefined;
  return (path, atKey) => {
    located ??= documentOf(text);
    return locateNode(located.doc, located.lines, path, atKey);
  };
}

function documentOf(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  return { doc: parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true }), lines };
}

export function getAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** line:col of the deepest node of `path` present in the document (of its key, with `atKey`). */
function locateNode(doc: Document, lines: LineCounter, path: (string | number)[], atKey = false): { line?: number; col?: number } {
  if (atKey && path.length > 0) {
    const parent = doc.getIn(path.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path.at(-1)) : undefined;
    const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]);
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]);
  }
  return {};
}
