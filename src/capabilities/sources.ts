import { formatCapabilityProblem, loadCapabilityDirs } from './load.js';
import { CapabilitySource } from './source.js';

export interface CapabilitySources {
  /** One source per server name, ready for BackendPool.apply(backends, sources). */
  sources: CapabilitySource[];
  /** `file:line:col: path: message`, one per problem; the files with problems contributed no tools. */
  problems: string[];
  /** Worth logging, not errors (e.g. an unset variable a tool needs). */
  warnings: string[];
}

/** loadCapabilityDirs, then one CapabilitySource per group. Never throws for invalid files. */
export async function loadCapabilitySources(dirs: string[], env: NodeJS.ProcessEnv = process.env): Promise<CapabilitySources> {
  const loaded = await loadCapabilityDirs(dirs, env);
  return {
    sources: loaded.groups.map((group) => new CapabilitySource(group, { env })),
    problems: loaded.problems.map(formatCapabilityProblem),
    warnings: loaded.warnings,
  };
}
