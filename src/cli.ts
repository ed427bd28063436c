#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runServe } from './cli/serve.js';
import { CLIENT_CONFIG_USAGE, DOCTOR_USAGE, IMPORT_USAGE, SERVE_USAGE, STDIO_USAGE, USAGE, VALIDATE_USAGE } from './cli/usage.js';
import { runValidate } from './cli/validate.js';
import { VERSION } from './cli/version.js';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
const CONFIG = { config: { type: 'string', short: 'c' } } as const;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** Each command: its flags, its help, and what runs it. `stdio`, `import` and `client-config` load on demand (serve start-up skips them). */
const COMMANDS: Record<
  string,
  { options: Options; usage: string; positionals: boolean; run: (values: Values, rest: string[]) => Promise<number> }
> = {
  serve: {
    options: { ...CONFIG, ...HELP, host: { type: 'string' }, port: { type: 'string', short: 'p' }, 'log-level': { type: 'string' } },
    usage: SERVE_USAGE,
    positionals: false,
    run: (v) => runServe(v as Parameters<typeof runServe>[0]),
  },
  stdio: {
    options: { ...CONFIG, ...HELP, 'log-level': { type: 'string' } },
    usage: STDIO_USAGE,
    positionals: false,
    run: async (v) => (await import('./cli/stdio.js')).runStdio(v as import('./cli/stdio.js').StdioFlags),
  },
  validate: {
    options: { ...CONFIG, ...HELP },
    usage: VALIDATE_USAGE,
    positionals: false,
    run: (v) => runValidate(v.config as string | undefined),
  },
  doctor: {
    options: { ...CONFIG, ...HELP },
    usage: DOCTOR_USAGE,
    positionals: false,
    run: async (v) => (await import('./cli/doctor.js')).runDoctor(v.config as string | undefined),
  },
  import: {
    options: { ...CONFIG, ...HELP, 'dry-run': { type: 'boolean', short: 'n' } },
    usage: IMPORT_USAGE,
    positionals: true,
    run: async (v, files) =>
      (await import('./cli/import.js')).runImport(files, { config: v.config as string | undefined, dryRun: Boolean(v['dry-run']) }),
  },
  'client-config': {
    options: { ...CONFIG, ...HELP, url: { type: 'string' } },
    usage: CLIENT_CONFIG_USAGE,
    positionals: true,
    run: async (v, args) =>
      (await import('./cli/client-config.js')).runClientConfig(args, {
        config: v.config as string | undefined,
        url: v.url as string | undefined,
      }),
  },
};
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Exit codes: 0 ok, 1 runtime failure (e.g. port in use), 2 usage or config error. */
async function main(argv: string[]): Promise<number> {
  // Loaded on demand: the OpenAPI parser behind `cap` costs ~0.1 s of start-up that `serve` does not need.
  if (argv[0] === 'cap') return (await import('./capabilities/cli.js')).runCapCommand(argv.slice(1));
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  const name = named ? argv[0]! : 'serve';
  const command = COMMANDS[name];
  if (!command) return usageError(`unknown command "${name}"`, USAGE);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: named ? argv.slice(1) : argv, options: command.options, allowPositionals: true });
  } catch (error) {
    return usageError((error as Error).message, command.usage);
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  if (!command.positionals && parsed.positionals.length > 0)
    return usageError(`unexpected "${parsed.positionals.join(' ')}"`, command.usage);
  return command.run(parsed.values, parsed.positionals);
}

function usageError(message: string, usage: string): number {
  process.stderr.write(`mcp-gateway: ${message}\n\n${usage}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`mcp-gateway: ${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  },
);
