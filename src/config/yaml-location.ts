import { load as loadYaml } from 'js-yaml';
import { type Document, isMap, LineCounter, parseDocument } from 'yaml';

/**
 * Reading YAML text and locating problems in it, shared by gateway.yaml and capability files.
 *
 * Two parsers, one reading: js-yaml turns text into a value about three times faster than `yaml` builds
 * its document (~30 ms for the shipped capability files, ~60 ms for a 50-backend config at start-up), so
 * valid text takes that path; `yaml`'s document, with line and column for every node, is built only when a
 * problem needs a place. Both follow the YAML 1.2 core schema and reject duplicate keys.
 */

export type Locate = (path: (string | number)[], atKey?: boolean) => { line?: number; col?: number };

/** Marks text js-yaml cannot read; the caller parses it again with `yaml` to report where. */
export const UNREADABLE: unique symbol = Symbol('unreadable YAML');

export function readYamlQuickly(text: string): unknown {
  try {
    return loadYaml(text);
  } catch {
    return UNREADABLE;
  }
}

/** A Locate that parses `text` with `yaml` on its first use, for text that was read quickly. */
export function lazyLocator(text: string): Locate {
  let located: { doc: Document; lines: LineCounter } | undefined;
  return (path, atKey) => {
    if (!located) {
      const lines = new LineCounter();
      located = { doc: parseDocument(text, { lineCounter: lines, uniqueKeys: true }), lines };
    }
    return locateNode(located.doc, located.lines, path, atKey);
  };
}

export function getAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** line:col of the deepest node of `path` present in the document (of its key, with `atKey`). */
export function locateNode(doc: Document, lines: LineCounter, path: (string | number)[], atKey = false): { line?: number; col?: number } {
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
