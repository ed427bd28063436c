/**
 * Keys other MCP clients use (Claude Desktop and Code, Cursor, Windsurf, VS Code, Gemini CLI), with what
 * gateway.yaml says instead: someone pasting a client's config gets the gateway's word, not only the
 * nearest spelling. `where` is the object the key sits in.
 */
type Where = 'top' | 'backend' | 'failsafes';

interface Hint {
  keys: string[];
  where: Where[];
  /** The text after "unknown key": given the key's value as written. */
  say: (value: unknown) => string;
}

const TRANSPORT_OF_TYPE: Record<string, string> = {
  http: 'streamable-http',
  'streamable-http': 'streamable-http',
  streamableHttp: 'streamable-http',
  sse: 'sse',
};

const HINTS: Hint[] = [
  { keys: ['mcpServers', 'servers', 'mcp_servers'], where: ['top'], say: () => 'gateway.yaml lists servers under `backends`' },
  { keys: ['inputs'], where: ['top'], say: () => `not supported: use \`\${VAR}\` references to environment variables instead of inputs` },
  { keys: ['timeout'], where: ['backend', 'failsafes'], say: () => 'use `timeout_ms` (milliseconds)' },
  { keys: ['serverUrl', 'httpUrl', 'endpoint'], where: ['backend'], say: () => 'use `url`' },
  {
    keys: ['type'],
    where: ['backend'],
    say: (value) => {
      if (value === 'stdio') return 'not needed: a backend with `command` is stdio';
      const transport = typeof value === 'string' ? TRANSPORT_OF_TYPE[value] : undefined;
      return transport
        ? `use \`transport: ${transport}\` (or leave it out: Streamable HTTP, falling back to SSE)`
        : 'use `transport` (`streamable-http` or `sse`)';
    },
  },
  {
    keys: ['disabled'],
    where: ['backend'],
    say: (value) => (value === false ? 'not needed: backends are enabled unless `enabled: false`' : 'use `enabled: false`'),
  },
  {
    keys: ['autoApprove', 'alwaysAllow', 'disabledTools', 'trust'],
    where: ['backend'],
    say: () => "not needed: the client approves the gateway's tools; remove it",
  },
  { keys: ['environment'], where: ['backend'], say: () => 'use `env`' },
  {
    keys: ['envFile'],
    where: ['backend'],
    say: () => `not supported: list the variables in \`env\`, with \`\${VAR}\` references for secrets`,
  },
  { keys: ['workingDirectory', 'working_directory', 'cwdPath'], where: ['backend'], say: () => 'use `cwd`' },
  { keys: ['name'], where: ['backend'], say: () => "not needed: the backend's name is its key under `backends`" },
];

/** The hint for an unknown key from another client's vocabulary, if there is one. */
export function vocabularyHint(where: Where, key: string, value: unknown): string | undefined {
  return HINTS.find((h) => h.where.includes(where) && h.keys.includes(key))?.say(value);
}

/** Where an unknown key's parent path is, for the table above. */
export function whereIs(parentPath: (string | number)[]): Where | undefined {
  if (parentPath.length === 0) return 'top';
  if (parentPath[0] === 'backends' && parentPath.length === 2) return 'backend';
  if (parentPath.length === 1 && parentPath[0] === 'defaults') return 'failsafes';
  return undefined;
}

/** Extra words for a schema message about a key in the wrong kind of backend. */
export function misplacedHint(key: string): string {
  if (key === 'env') return ` (an HTTP backend takes credentials in \`headers\`, e.g. \`Authorization: "Bearer \${TOKEN}"\`)`;
  if (key === 'headers') return ' (a stdio backend takes credentials in `env`)';
  return '';
}
