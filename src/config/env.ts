/**
 * `${VAR}` and `${VAR:-default}` expansion in every string value of the parsed config.
 * An unset variable with no default is a problem reported at its YAML path.
 */
const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvProblem {
  path: (string | number)[];
  message: string;
}

export function expandEnv(value: unknown, env: NodeJS.ProcessEnv): { value: unknown; problems: EnvProblem[] } {
  const problems: EnvProblem[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(reference, (_match, name: string, fallback: string | undefined) => {
        const set = env[name];
        if (set !== undefined && set !== '') return set;
        if (fallback !== undefined) return fallback;
        if (set === undefined)
          problems.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
        return '';
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]));
    }
    return v;
  };
  return { value: walk(value, []), problems };
}
