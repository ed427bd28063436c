/**
 * What `search_tools` shows a model for each hit: enough to choose and call the tool, no more.
 * The description is cut to its lead (the first paragraph, whole sentences, at most ~300
 * characters): MCP tool descriptions often go on with usage notes, examples and caveats that do
 * not decide the choice. The input schema comes whole, so the model can call the tool at once.
 */
import type { SearchHit } from './rank.js';

export interface PresentedHit {
  /** "server/tool": the name to pass to the call meta-tool */
  name: string;
  server: string;
  tool: string;
  /** 0..1; 1 = exact name or a tool that is the best match on every query word */
  score: number;
  title?: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

const MIN_LEAD = 40;

/** The lead of a description: first paragraph, whole sentences up to `max` characters. */
export function trimDescription(text: string | undefined, max = 300): string {
  if (!text) return '';
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0);
  if (paragraphs.length === 0) return '';
  // The first paragraph, or more while it is too short to say anything (a heading, "Usage:").
  let lead = paragraphs[0]!;
  for (let i = 1; i < paragraphs.length && lead.length < MIN_LEAD; i++) lead = `${lead} ${paragraphs[i]!}`;
  if (lead.length <= max) return lead;
  // Whole sentences that fit. (CJK full stops are written as escapes: one non-ASCII character in the
  // bundle makes V8 hold its whole source as UTF-16.)
  const sentences = lead.match(/[^.!?\u3002\uff01\uff1f]+(?:[.!?\u3002\uff01\uff1f]+|$)/g) ?? [lead];
  let out = '';
  for (const s of sentences) {
    const next = (out + s).trim();
    if (next.length > max) break;
    out = next;
  }
  if (out.length >= MIN_LEAD) return out;
  // One long sentence: cut at a word boundary.
  const cut = lead.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '')}…`;
}

export function presentHit(hit: SearchHit, maxDescription = 300): PresentedHit {
  const out: PresentedHit = { name: `${hit.server}/${hit.tool}`, server: hit.server, tool: hit.tool, score: hit.score };
  if (hit.doc.title) out.title = hit.doc.title;
  const description = trimDescription(hit.doc.description, maxDescription);
  if (description) out.description = description;
  if (hit.doc.inputSchema) out.inputSchema = hit.doc.inputSchema;
  return out;
}

/**
 * Hits scoring below this share of the first one are cut from an answer: on the model-written eval
 * queries a right tool ranked 2nd-5th scored at least 0.25 × the first in 95% of cases (MetaTool single;
 * higher on the others), while a quarter to a third of all hits fall below it. Exact-name hits (score 1)
 * set the bar as any other first hit does.
 */
export const RELATIVE_CUT = 0.25;

/** The hits worth showing: those within RELATIVE_CUT of the first; `cut` counts the rest. */
export function cutWeak<T extends { score: number }>(hits: readonly T[], ratio = RELATIVE_CUT): { hits: T[]; cut: number } {
  if (hits.length === 0) return { hits: [], cut: 0 };
  const bar = hits[0]!.score * ratio;
  const kept = hits.filter((h, i) => i === 0 || h.score >= bar);
  return { hits: kept, cut: hits.length - kept.length };
}
