/**
 * What the search index knows about one tool, and how a backend's tool definition becomes one.
 */

export interface ToolDoc {
  server: string; // backend name, e.g. "filesystem"
  serverDescription?: string; // from gateway.yaml
  name: string; // tool name, e.g. "read_text_file"
  title?: string;
  description?: string;
  inputSchema?: Record<string, unknown>; // JSON Schema; index its property names and property descriptions
  /** The tool says it is deprecated; it is ranked lower, never hidden. Unset: read from title and description. */
  deprecated?: boolean;
}

/** The parts of an MCP tool definition the index reads (the SDKs' `Tool` type fits). */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: object;
  annotations?: { title?: string; [key: string]: unknown };
  _meta?: { [key: string]: unknown };
}

/** A backend's tool as the index takes it: `source` is the backend (its name and configured description). */
export function toolDoc(source: { name: string; description?: string }, tool: ToolDefinition): ToolDoc {
  const doc: ToolDoc = { server: source.name, name: tool.name };
  if (source.description !== undefined) doc.serverDescription = source.description;
  const title = tool.title ?? tool.annotations?.title;
  if (title !== undefined) doc.title = title;
  if (tool.description !== undefined) doc.description = tool.description;
  if (tool.inputSchema !== undefined) doc.inputSchema = tool.inputSchema as Record<string, unknown>;
  // MCP has no deprecation field (2025-11); a boolean `deprecated` in annotations or _meta is honoured
  // where a server sets one, the text is read otherwise.
  if (tool.annotations?.deprecated === true || tool._meta?.deprecated === true) doc.deprecated = true;
  return doc;
}

/**
 * Deprecation notices as servers write them into titles and descriptions: "DEPRECATED: use X",
 * "(deprecated)", "[Deprecated]", "Deprecated." as the first word, "this tool is deprecated",
 * "deprecated in favor of X", "deprecated, use X". Lowercase "deprecated" elsewhere is not a notice:
 * "Check if packages are deprecated" describes what a tool does.
 */
const NOTICES = [
  /\bDEPRECATED\b/,
  /^[\s[(*_-]*deprecated\b/i,
  /[([]\s*deprecated\s*[)\]]/i,
  /\b(?:this|the)\s+(?:tool|function|endpoint|method|command|operation)\s+(?:is|has\s+been)\s+(?:now\s+)?deprecated\b/i,
  /\bdeprecated\s+in\s+favou?r\s+of\b/i,
  /\bdeprecated\s*[:;,.\u2013\u2014-]+\s*(?:please\s+)?(?:use|prefer|see|switch\s+to|migrate\s+to)\b/i,
];

/** One cheap scan first: most texts never mention it. */
const MENTION = /deprecated/i;

/** Does the tool's own text say it is deprecated? */
export function saysDeprecated(doc: { title?: string; description?: string }): boolean {
  for (const text of [doc.title, doc.description]) {
    if (text && MENTION.test(text) && NOTICES.some((re) => re.test(text))) return true;
  }
  return false;
}

/** `doc.deprecated` if set, else what its title and description say. */
export function isDeprecated(doc: ToolDoc): boolean {
  return doc.deprecated ?? saysDeprecated(doc);
}

/** Property names and descriptions of a JSON Schema's top-level `properties`. */
export function schemaText(schema: Record<string, unknown> | undefined): { names: string; descriptions: string } {
  const props = schema?.properties;
  if (!props || typeof props !== 'object') return { names: '', descriptions: '' };
  const names: string[] = [];
  const descriptions: string[] = [];
  for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
    names.push(key);
    if (value && typeof value === 'object') {
      const d = (value as Record<string, unknown>).description;
      if (typeof d === 'string') descriptions.push(d);
    }
  }
  return { names: names.join(' '), descriptions: descriptions.join(' ') };
}
