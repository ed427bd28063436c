import { formatProblem } from '../config/load.js';
import { machineProblems } from './checks.js';
import { loadForCli } from './config-file.js';

/** Exit codes: 0 valid (warnings printed to stderr), 2 problems. */
export async function runValidate(configFlag: string | undefined): Promise<number> {
  const found = await loadForCli(configFlag);
  if (typeof found === 'number') return found;
  const { file, loaded } = found;
  for (const warning of loaded.warnings) process.stderr.write(`warning: ${formatProblem(file, warning)}\n`);
  const problems = machineProblems(loaded.config);
  if (problems.length > 0) {
    process.stderr.write(`${problems.map((p) => formatProblem(file, p)).join('\n')}\n${problems.length} problem(s) in ${file}\n`);
    return 2;
  }
  process.stdout.write(`${file}: ok (${Object.keys(loaded.config.backends).length} backends)\n`);
  return 0;
}
