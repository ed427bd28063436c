import { parseArgs } from 'node:util';
import { formatCapabilityProblem, loadCapabilityDirs } from './load.js';
import { importOpenApi, OpenApiImportError, writeCapabilities } from './openapi.js';
import { schemaProblem } from './validate.js';

export const CAP_USAGE = `Usage:
  mcp-gateway cap import SPEC --output DIR [--prefix P] [--include TAG|OPERATION_ID]... [--server NAME] [--base-url URL] [--force]
      Write one capability file per operation of an OpenAPI 3.0/3.1 or Swagger 2.0 spec (YAML or JSON,
      a file or an http(s) URL). --include (repeatable, or comma-separated) keeps operations with that
      tag or operationId; --prefix goes before every tool name; --server names the server the tools are
      listed under (default: from the API's title); --base-url replaces the spec's servers; --force
      replaces files that exist.
  mcp-gateway cap validate [DIR]...
      Check capability files (default folder: ./capabilities); print every problem and exit 2, or exit 0.`;

export interface CapIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CapIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** `mcp-gateway cap ...` (argv without "cap"). Exit codes: 0 ok, 1 cannot read or write, 2 usage or invalid files. */
export async function runCapCommand(argv: string[], io: CapIo = processIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`mcp-gateway cap: ${(error as Error).message}\n\n${CAP_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${CAP_USAGE}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command === 'import') return capImport(rest, values, io);
  if (command === 'validate') return capValidate(rest, io);
  io.stderr(`mcp-gateway cap: ${command ? `unknown command "${command}"` : 'say import or validate'}\n\n${CAP_USAGE}\n`);
  return 2;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      prefix: { type: 'string', short: 'p' },
      include: { type: 'string', multiple: true },
      server: { type: 'string' },
      'base-url': { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function capImport(positionals: string[], values: ReturnType<typeof parse>['values'], io: CapIo): Promise<number> {
  const [spec, ...extra] = positionals;
  if (!spec || extra.length > 0) {
    io.stderr(`mcp-gateway cap import: give exactly one SPEC (a file or URL)\n\n${CAP_USAGE}\n`);
    return 2;
  }
  if (!values.output) {
    io.stderr(`mcp-gateway cap import: --output DIR is required (e.g. --output capabilities/)\n\n${CAP_USAGE}\n`);
    return 2;
  }
  const include = (values.include ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  try {
    const result = await importOpenApi(spec, {
      ...(values.prefix ? { prefix: values.prefix } : {}),
      ...(include.length > 0 ? { include } : {}),
      ...(values.server ? { server: values.server } : {}),
      ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
    });
    for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
    if (result.files.length === 0) {
      io.stderr('mcp-gateway cap import: nothing to write\n');
      return 2;
    }
    const written = await writeCapabilities(values.output, result.files, { overwrite: values.force === true });
    io.stdout(`${written.length} capabilities for server "${result.server}" written to ${values.output}\n`);
    if (result.envVars.length > 0)
      io.stdout(
        `Their auth reads ${result.envVars.join(', ')}: set ${result.envVars.length > 1 ? 'them' : 'it'} where the gateway runs.\n`,
      );
    return 0;
  } catch (error) {
    if (error instanceof OpenApiImportError) {
      io.stderr(`mcp-gateway cap import: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function capValidate(dirs: string[], io: CapIo): Promise<number> {
  const folders = dirs.length > 0 ? dirs : ['capabilities'];
  const { groups, problems, warnings } = await loadCapabilityDirs(folders);
  // Input schemas are compiled here (the gateway compiles each on its tool's first call).
  for (const tool of groups.flatMap((g) => g.tools)) {
    const problem = await schemaProblem(tool.inputSchema);
    if (problem) problems.push({ file: tool.file, path: tool.name, message: problem });
  }
  for (const problem of problems) io.stderr(`${formatCapabilityProblem(problem)}\n`);
  for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
  if (problems.length > 0) {
    io.stderr(`${problems.length} problem(s) in ${folders.join(', ')}\n`);
    return 2;
  }
  const tools = groups.reduce((n, g) => n + g.tools.length, 0);
  io.stdout(
    `${folders.join(', ')}: ok (${tools} tools in ${groups.length} server${groups.length === 1 ? '' : 's'}${groups.length > 0 ? `: ${groups.map((g) => g.server).join(', ')}` : ''})\n`,
  );
  return 0;
}
