import { isAbsolute, resolve } from 'node:path';
import { vocabularyHint } from '../config/vocabulary.js';
import { type ClientServers, isObject } from './import-read.js';

/**
 * One client entry → one gateway.yaml backend. Placeholders become the gateway's `${VAR}`; a literal
 * secret in `env` or `headers` becomes a `${VAR}` reference too, so gateway.yaml holds no secret. Nothing
 * here ever copies a secret's value into a message.
 */
export interface Converted {
  name: string;
  backend: Record<string, unknown>;
  /** Variables the gateway's environment needs, each with why (never a value). */
  variables: Map<string, string>;
  notes: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /token|secret|passw|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth|cookie|session/i;
const SECRET_SHAPE =
  /^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|sk-[\w-]{16,}|xox[abprs]-[\w-]{10,}|AKIA[0-9A-Z]{16}|AIza[\w-]{30,}|glpat-[\w-]{20,}|eyJ[\w-]+\.[\w-]+\.[\w-]+)$/;
/** scheme://user:password@host: a URL that carries a password. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
const AUTH_SCHEME = /^(Bearer|Basic|Token|Bot)\s+(\S.*)$/i;

/** Does a literal value, under this env or header name, look like a secret? */
export function looksSecret(name: string, value: string): boolean {
  if (value.includes('${')) return false;
  if (SECRET_SHAPE.test(value) || URL_WITH_PASSWORD.test(value)) return true;
  const pathOrFlag = /^([./~]|[A-Za-z]:\\)/.test(value) || /^(true|false|\d+)$/i.test(value);
  return SECRET_NAME.test(name) && value.length >= 8 && !pathOrFlag;
}

export class Converter {
  /** Variable name → where its value came from, so two different secrets never share one name. */
  private readonly taken = new Map<string, string>();

  constructor(private readonly targetDir: string) {}

  convert(source: ClientServers, clientName: string, entry: Record<string, unknown>, name: string): Converted {
    const out: Converted = { name, backend: {}, variables: new Map(), notes: [] };
    const at = `${source.key}.${clientName}`;
    const text = (value: unknown, where: string): string | undefined => {
      if (typeof value === 'string') return this.placeholders(value, source, out, where);
      if (value !== undefined) out.notes.push(`${where} is not a string; left out`);
      return undefined;
    };
    const path = (value: string) => this.path(value, source.workspace);
    const b = out.backend;
    const url = entry.url ?? entry.serverUrl ?? entry.httpUrl;
    if (typeof entry.command === 'string') {
      b.command = path(text(entry.command, `${at}.command`)!);
      const args = Array.isArray(entry.args) ? entry.args.map((a, i) => text(a, `${at}.args.${i}`) ?? '').map(path) : [];
      // Clients run `command` as one program; without `args` gateway.yaml would split it like a shell.
      if (args.length > 0 || /\s/.test(b.command as string)) b.args = args;
      if (isObject(entry.env)) b.env = this.values(entry.env, 'env', name, source, out, `${at}.env`, path);
      if (typeof entry.cwd === 'string') b.cwd = path(text(entry.cwd, `${at}.cwd`)!);
    } else if (typeof url === 'string') {
      b.url = text(url, `${at}.url`);
      const transport =
        entry.type === 'sse' ? 'sse' : entry.type === 'http' || entry.type === 'streamable-http' ? 'streamable-http' : undefined;
      if (transport) b.transport = transport;
      if (isObject(entry.headers)) b.headers = this.values(entry.headers, 'header', name, source, out, `${at}.headers`, (v) => v);
    } else {
      out.notes.push(`${at} has neither \`command\` nor \`url\`; skipped`);
      return out;
    }
    if (entry.disabled === true) b.enabled = false;
    const handled = new Set(['command', 'args', 'env', 'cwd', 'url', 'serverUrl', 'httpUrl', 'type', 'headers', 'disabled']);
    for (const key of Object.keys(entry).filter((k) => !handled.has(k))) {
      const hint = vocabularyHint('backend', key, entry[key]);
      out.notes.push(`${at}.${key} left out${hint ? `: ${hint}` : ''}`);
    }
    return out;
  }

  /** env values or header values: placeholders translated, literal secrets replaced by `${VAR}`. */
  private values(
    map: Record<string, unknown>,
    kind: 'env' | 'header',
    backend: string,
    source: ClientServers,
    out: Converted,
    at: string,
    path: (v: string) => string,
  ): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [key, raw] of Object.entries(map)) {
      if (typeof raw !== 'string') {
        out.notes.push(`${at}.${key} is not a string; left out`);
        continue;
      }
      const value = this.placeholders(raw, source, out, `${at}.${key}`);
      const scheme = kind === 'header' ? AUTH_SCHEME.exec(value) : null;
      const secretPart = scheme ? scheme[2]! : value;
      if (!looksSecret(key, secretPart) && !(scheme && !secretPart.includes('${'))) {
        result[key] = kind === 'env' ? path(value) : value;
        continue;
      }
      const base = kind === 'env' && ENV_NAME.test(key) ? key : `${envWord(backend)}_${scheme ? 'TOKEN' : envWord(key)}`;
      const variable = this.claim(base, `${source.file}:${at}.${key}`, backend);
      out.variables.set(variable, `was written in ${source.file} at ${at}.${key}: copy the value from there`);
      result[key] = scheme ? `${scheme[1]} \${${variable}}` : `\${${variable}}`;
    }
    return result;
  }

  /** A variable name for one secret: `base`, else prefixed with the backend, else numbered. */
  private claim(base: string, origin: string, backend: string): string {
    for (const candidate of [base, `${envWord(backend)}_${base}`]) {
      if (!this.taken.has(candidate)) {
        this.taken.set(candidate, origin);
        return candidate;
      }
    }
    for (let n = 2; ; n++) {
      const candidate = `${envWord(backend)}_${base}_${n}`;
      if (!this.taken.has(candidate)) {
        this.taken.set(candidate, origin);
        return candidate;
      }
    }
  }

  /** `${env:X}` → `${X}`, `${input:id}` → `${ID}`, `${workspaceFolder}`, `${userHome}`; `${X}` and `${X:-d}` stay. */
  private placeholders(value: string, source: ClientServers, out: Converted, where: string): string {
    return value.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      const env = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
      if (env) return need(env[1]!, `read from the environment (${where})`);
      const input = /^input:(.+)$/.exec(inner);
      if (input) {
        const variable = envWord(input[1]!);
        const description = source.inputs.get(input[1]!)?.description;
        return need(variable, `was VS Code input "${input[1]}"${description ? ` (${description})` : ''}`);
      }
      if (inner === 'workspaceFolder') return source.workspace;
      if (inner === 'userHome') return `\${HOME}`;
      const own = /^([A-Za-z_][A-Za-z0-9_]*)(:-.*)?$/.exec(inner);
      if (own) return own[2] !== undefined ? whole : need(own[1]!, `read from the environment (${where})`);
      out.notes.push(`${where}: the placeholder ${whole} has no gateway equivalent; kept as written`);
      return whole;
    });
    function need(name: string, why: string): string {
      if (!out.variables.has(name)) out.variables.set(name, why);
      return `\${${name}}`;
    }
  }

  /** A project's relative path meant its workspace folder; gateway.yaml's mean its own folder. */
  private path(value: string, workspace: string): string {
    if (!(value.startsWith('./') || value.startsWith('../')) || resolve(workspace) === resolve(this.targetDir)) return value;
    const full = resolve(workspace, value);
    return isAbsolute(full) ? full : value;
  }
}

/** "my-server" → "MY_SERVER": a name usable as an environment variable. */
export function envWord(text: string): string {
  const word = text.toUpperCase().replace(/[^A-Z0-9_]+/g, '_');
  return /^[0-9]/.test(word) ? `_${word}` : word;
}
