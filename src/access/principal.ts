/**
 * Who is asking. The HTTP layer authenticates a request once and hands a Principal to the front it
 * serves; every list, search, suggestion and call is then filtered through `allows` in one place (the
 * catalog view), never by a handler checking scopes itself.
 */
export interface Principal {
  /** Shown in logs and audit records; never a token. */
  readonly name: string;
  /** May use /admin/*. */
  readonly admin: boolean;
  /** Is this tool visible and callable? With `tool` undefined: is any tool of this server? */
  allows(server: string, tool?: string): boolean;
  /** This principal's own limit on `invoke` calls, if any (answered `rate_limited`). */
  readonly rateLimit?: { calls: number; perMs: number };
}

/** A `server/tool` glob: `*` matches any run of characters (including `/`), everything else literally. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * `allow` patterns → a check. A pattern without `/` names a whole server ("github" = "github/*").
 * A server is visible when some pattern could match one of its tools: its server part matches.
 */
export function allowMatcher(patterns: readonly string[]): (server: string, tool?: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const rules = patterns.map((pattern) => {
    const slash = pattern.indexOf('/');
    const serverPart = slash === -1 ? pattern : pattern.slice(0, slash);
    const toolPart = slash === -1 ? '*' : pattern.slice(slash + 1);
    return { server: globToRegExp(serverPart), tool: globToRegExp(toolPart), toolPart, wholeServer: toolPart === '*' };
  });
  // Resources and prompts are checked as `resource:URI` and `prompt:NAME`: only a pattern that names that
  // kind (`server/prompt:*`), or a whole server (`server`, `server/*`), reaches them, not a tool glob like `*_issue`.
  const kindOf = (name: string) => (name.startsWith('resource:') ? 'resource:' : name.startsWith('prompt:') ? 'prompt:' : undefined);
  return (server, tool) => {
    const kind = tool === undefined ? undefined : kindOf(tool);
    return rules.some((rule) => {
      if (!rule.server.test(server)) return false;
      if (tool === undefined) return true;
      if (kind && !rule.wholeServer && !rule.toolPart.startsWith(kind)) return false;
      return rule.tool.test(tool);
    });
  };
}

/** The caller when no `auth` is configured (a loopback bind, single user): sees and may do everything. */
export const LOCAL_USER: Principal = { name: 'local', admin: true, allows: () => true };
