import { createServer } from 'node:net';
import { BackendPool } from '../backends/pool.js';
import { loadCapabilitySources } from '../capabilities/sources.js';
import { formatProblem } from '../config/load.js';
import type { BackendConfig, GatewayConfig } from '../config/schema.js';
import { registerConfigSecrets } from '../config/secrets.js';
import { silentLogger } from '../log.js';
import { redact } from '../secrets/redact.js';
import { BackendUnavailableError, describeError } from '../sources/source.js';
import { machineProblems } from './checks.js';
import { loadForCli } from './config-file.js';

/** One line of the final table; `fix` is what to do when it failed. */
interface Row {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

type Write = (text: string) => void;

/**
 * `mcp-gateway doctor`: the config (syntax, keys, `${VAR}`), each stdio command and cwd, the port, the
 * capability files, then every enabled backend started once, all in parallel, with a line as each
 * answers. Prints a table and the fix for each failure.
 * Exit codes: 0 all well, 1 something fails, 2 usage or config error.
 */
export async function runDoctor(configFlag: string | undefined, write: Write = (t) => process.stdout.write(t)): Promise<number> {
  const found = await loadForCli(configFlag);
  if (typeof found === 'number') return found; // the problems (an unset ${VAR} among them) are printed
  const { file, loaded } = found;
  const config = loaded.config;
  // What this config took from the environment never appears in the output (errors may quote stderr).
  registerConfigSecrets(loaded.secrets);
  const rows: Row[] = [{ check: 'config', ok: true, detail: `${file}: valid, ${Object.keys(config.backends).length} backends` }];
  for (const warning of loaded.warnings) write(`warning: ${formatProblem(file, warning)}\n`);

  const machine = machineProblems(config);
  const blocked = new Set<string>();
  for (const problem of machine) {
    const backend = /^backends\.([^.]+)\./.exec(problem.path)?.[1];
    if (backend) blocked.add(backend);
    rows.push({
      check: backend ? `backend ${backend}` : problem.path,
      ok: false,
      detail: problem.message,
      fix: machineFix(problem.path, config),
    });
  }
  rows.push(await portRow(config));
  rows.push(...(await capabilityRows(config)));
  rows.push(...(await backendRows(config, blocked, write)));

  write(`\n${table(rows)}\n`);
  const failed = rows.filter((row) => !row.ok);
  if (failed.length === 0) {
    write('\nAll well.\n');
    return 0;
  }
  write(`\n${failed.length} problem(s). Fixes:\n${failed.map((row) => `  ${row.check}: ${row.fix ?? row.detail}`).join('\n')}\n`);
  return 1;
}

function machineFix(path: string, config: GatewayConfig): string {
  const [, name, key] = /^backends\.([^.]+)\.(\w+)/.exec(path) ?? [];
  const backend = name ? config.backends[name] : undefined;
  if (backend?.kind === 'stdio' && key === 'command')
    return `install ${backend.command} or put its folder on PATH, or give its full path in backends.${name}.command`;
  if (backend?.kind === 'stdio' && key === 'cwd') return `create ${backend.cwd} or change backends.${name}.cwd`;
  if (path === 'server.host') return 'add an `auth` section (keys or oauth), or bind server.host: 127.0.0.1';
  return `fix ${path}`;
}

/** Can the gateway listen where the config says? (Port 0 picks a free port, so it always can.) */
async function portRow(config: GatewayConfig): Promise<Row> {
  const { host, port } = config.server;
  const where = `${host}:${port}`;
  if (port === 0) return { check: 'port', ok: true, detail: `${host}: port 0 picks a free port` };
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!error) return { check: 'port', ok: true, detail: `${where} is free` };
  const fixes: Record<string, string> = {
    EADDRINUSE: `another program listens on ${where} (a gateway already running?): stop it, or pick another port with server.port or --port`,
    EACCES: `this user may not listen on port ${port}: use a port from 1024 up (server.port or --port)`,
    EADDRNOTAVAIL: `${host} is not an address of this machine: fix server.host (127.0.0.1 for this machine only)`,
    ENOTFOUND: `${host} does not resolve: fix server.host`,
  };
  return { check: 'port', ok: false, detail: `cannot listen on ${where}: ${error.code ?? error.message}`, fix: fixes[error.code ?? ''] };
}

async function capabilityRows(config: GatewayConfig): Promise<Row[]> {
  const loaded = await loadCapabilitySources(config.capability_dirs, process.env, { maxFileBytes: config.limits.max_file_bytes });
  const rows: Row[] = loaded.sources.map((source) => ({
    check: `capabilities ${source.name}`,
    ok: true,
    detail: `${source.cachedTools?.length ?? 0} REST tools (endpoints not contacted)`,
  }));
  for (const problem of loaded.problems)
    rows.push({
      check: 'capabilities',
      ok: false,
      detail: redact(problem),
      fix: 'fix the capability file named (mcp-gateway cap validate DIR shows every problem)',
    });
  return rows;
}

/** Every enabled backend not already failed by a machine check, started at once; a line as each one answers. */
async function backendRows(config: GatewayConfig, blocked: Set<string>, write: Write): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [name, backend] of Object.entries(config.backends))
    if (!backend.enabled) rows.push({ check: `backend ${name}`, ok: true, detail: 'skipped (enabled: false)' });
  const runnable = Object.fromEntries(Object.entries(config.backends).filter(([name, b]) => b.enabled && !blocked.has(name)));
  const pool = new BackendPool({ logger: silentLogger(), onToolsChanged: () => {}, onRemoved: () => {} });
  pool.apply(runnable);
  const sources = pool.all();
  if (sources.length > 0) write(`starting ${sources.length} backend(s): ${sources.map((s) => s.name).join(', ')}\n`);
  try {
    const results = await Promise.all(
      sources.map(async (source): Promise<Row> => {
        const started = performance.now();
        const backend = runnable[source.name]!;
        try {
          const tools = await source.listTools();
          const ms = Math.round(performance.now() - started);
          const names = tools.map((t) => t.name);
          const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')}, …` : names.join(', ');
          write(`  ${source.name}: ok, ${tools.length} tools in ${ms} ms\n`);
          return { check: `backend ${source.name}`, ok: true, detail: `${tools.length} tools in ${ms} ms${shown ? ` (${shown})` : ''}` };
        } catch (error) {
          const ms = Math.round(performance.now() - started);
          const reason = redact(error instanceof BackendUnavailableError ? error.reason : describeError(error));
          write(`  ${source.name}: FAILED after ${ms} ms\n`);
          return {
            check: `backend ${source.name}`,
            ok: false,
            detail: `${reason} (after ${ms} ms)`,
            fix: startFix(source.name, backend, reason),
          };
        }
      }),
    );
    rows.push(...results);
  } finally {
    await pool.close();
  }
  return rows;
}

/** The likeliest fix for a backend that would not start, from what went wrong. */
export function startFix(name: string, backend: BackendConfig, reason: string): string {
  const timeout = /timed out after (\d+) ms/.exec(reason);
  if (backend.kind === 'stdio') {
    const line = redact([backend.command, ...backend.args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '));
    if (timeout)
      return `it did not start and list its tools within ${timeout[1]} ms: run \`${line}\` in ${backend.cwd} to see it start (a first npx run downloads), or raise backends.${name}.connect_timeout_ms`;
    if (/ENOENT/.test(reason)) return `the command was not found: install it or give its full path in backends.${name}.command`;
    return `it exited during start-up: run \`${line}\` in ${backend.cwd} to see its error (check backends.${name}.args and env)`;
  }
  if (timeout)
    return `${backend.url} did not answer within ${timeout[1]} ms: check that it is up, or raise backends.${name}.connect_timeout_ms`;
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|fetch failed/i.test(reason))
    return `nothing answers at ${backend.url}: start that server, or fix backends.${name}.url`;
  if (/\b(401|403)\b|unauthori[sz]ed|forbidden/i.test(reason))
    return `${backend.url} refused the credentials: check backends.${name}.headers`;
  if (/\b404\b/.test(reason)) return `no MCP endpoint at ${backend.url}: check the path (often /mcp, or /sse with transport: sse)`;
  return `check that ${backend.url} serves MCP (Streamable HTTP, or SSE with transport: sse)`;
}

function table(rows: Row[]): string {
  const width = Math.max(...rows.map((row) => row.check.length));
  return rows.map((row) => `${row.check.padEnd(width)}  ${row.ok ? 'ok  ' : 'FAIL'}  ${row.detail}`).join('\n');
}
