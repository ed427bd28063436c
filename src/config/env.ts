/**
 * `${VAR}` and `${VAR:-default}` expansion in every string value of the parsed config.
 * An unset variable with no default is a problem reported at its YAML path. Every value taken from the
 * environment is also returned as a secret (a default written in the file is not one), so whoever serves
 * the config can register it for redaction.
 */
const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvProblem {
  path: (string | number)[];
  message: string;
}

/** A value that came from the environment through `${name}`. */
export interface EnvSecret {
  value: string;
  name: string;
}

export interface Expanded {
  value: unknown;
  problems: EnvProblem[];
  /** Set but empty variables with no default: they expand to "" (worth a warning, not an error). */
  warnings: EnvProblem[];
  secrets: EnvSecret[];
}

export function expandEnv(value: unknown, env: NodeJS.ProcessEnv): Expanded {
  const problems: EnvProblem[] = [];
  const warnings: EnvProblem[] = [];
  const secrets: EnvSecret[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(reference, (_match, name: string, fallback: string | undefined) => {
        const set = env[name];
        if (set !== undefined && set !== '') {
          secrets.push({ value: set, name });
          return set;
        }
        if (fallback !== undefined) return fallback;
        if (set === undefined)
          problems.push({
            path,
            message: `${usedBy(path)}environment variable ${name} is not set (use \${${name}:-default} for a default)`,
          });
        else warnings.push({ path, message: `${usedBy(path)}environment variable ${name} is set but empty` });
        return '';
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]));
    }
    return v;
  };
  return { value: walk(value, []), problems, warnings, secrets };
}

/** "backend NAME: " for a value under `backends.NAME`, so a message says which backend is affected. */
function usedBy(path: (string | number)[]): string {
  return path[0] === 'backends' && path.length > 1 ? `backend ${path[1]}: ` : '';
}
