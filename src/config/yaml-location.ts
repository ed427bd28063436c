import { type Document, isMap, type LineCounter } from 'yaml';

/** Locating config problems in YAML text, shared by gateway.yaml and capability files. */

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
