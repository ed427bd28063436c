/**
 * Tool names, for the matches that outrank any text score: the exact name, the same words as a name
 * in another case style ("read text file" for read_text_file), and names starting with a query.
 */
import { tokenize } from './tokenize.js';

/** One document id, or several: most names are unique, and a lone number costs no array. */
type Ids = number | number[];

/** "read_text_file", "readTextFile" and "read text file" share the key "read text file". */
export function nameKey(text: string): string {
  return tokenize(text).join(' ');
}

function addId(map: Map<string, Ids>, key: string, id: number): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, id);
  else if (typeof current === 'number') map.set(key, [current, id]);
  else current.push(id);
}

function removeId(map: Map<string, Ids>, key: string, id: number): void {
  const current = map.get(key);
  if (current === undefined) return;
  if (typeof current === 'number') {
    if (current === id) map.delete(key);
    return;
  }
  const next = current.filter((x) => x !== id);
  if (next.length === 0) map.delete(key);
  else map.set(key, next.length === 1 ? next[0]! : next);
}

function idsOf(ids: Ids | undefined): readonly number[] {
  return ids === undefined ? [] : typeof ids === 'number' ? [ids] : ids;
}

export class NameIndex {
  /** lowercased name → ids, in the order they were added */
  private readonly exact = new Map<string, Ids>();
  /** nameKey(name) → ids */
  private readonly byKey = new Map<string, Ids>();
  /** [lowercased name, id], sorted by name then id; rebuilt lazily after changes (for prefix lookups) */
  private sorted: [string, number][] | undefined;

  add(id: number, name: string): void {
    addId(this.exact, name.toLowerCase(), id);
    addId(this.byKey, nameKey(name), id);
    this.sorted = undefined;
  }

  remove(id: number, name: string): void {
    removeId(this.exact, name.toLowerCase(), id);
    removeId(this.byKey, nameKey(name), id);
    this.sorted = undefined;
  }

  /** Ids of the tools named exactly `lowerName` (lowercased). */
  named(lowerName: string): readonly number[] {
    return idsOf(this.exact.get(lowerName));
  }

  /** Ids of the tools whose name has the same words as `text`, in any case style. */
  sameWords(text: string): readonly number[] {
    return idsOf(this.byKey.get(nameKey(text)));
  }

  /** Ids of the tools whose lowercased name starts with `prefix`, by name. */
  startingWith(prefix: string): number[] {
    if (!this.sorted) {
      const sorted: [string, number][] = [];
      for (const [name, ids] of this.exact) for (const id of idsOf(ids)) sorted.push([name, id]);
      this.sorted = sorted.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    }
    const names = this.sorted;
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]![0] < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < names.length && names[i]![0].startsWith(prefix); i++) out.push(names[i]![1]);
    return out;
  }
}
