import { LOG_LEVELS } from '../log.js';

/** Help texts, one per command; each says its exit codes. */

export const CONFIG_DISCOVERY =
  'Without --config: $MCP_GATEWAY_CONFIG, ./gateway.yaml, ~/.config/mcp-gateway/gateway.yaml, /etc/mcp-gateway/gateway.yaml.';

export const SERVE_USAGE = `Usage: mcp-gateway [serve] [--config FILE] [--host H] [--port N] [--log-level LEVEL]
  Serve the config's backends on http://HOST:PORT/mcp until SIGINT or SIGTERM.
  --host, --port override server.host and server.port. A host beyond loopback needs an \`auth\` section
  or server.allow_unauthenticated_network: true.
  Log levels: ${LOG_LEVELS.join(', ')} (default info). Logs are JSON lines on stderr.
  ${CONFIG_DISCOVERY}
Exit codes: 0 stopped by a signal, 1 cannot listen, 2 usage or config error.`;

export const STDIO_USAGE = `Usage: mcp-gateway stdio [--config FILE] [--log-level LEVEL]
  Speak MCP on stdin/stdout instead of HTTP, for clients that launch a command (Claude Desktop): the same
  meta-tools, no listener, no auth (the user is whoever started the process). Logs are JSON lines on stderr;
  stdout carries only MCP messages. The config file is reloaded on change when server.watch is on.
  Stops, ending every backend, when stdin closes, when the parent process is gone, or on SIGINT, SIGTERM, SIGHUP.
  Log levels: ${LOG_LEVELS.join(', ')} (default info).
  ${CONFIG_DISCOVERY}
Exit codes: 0 stopped, 2 usage or config error.`;

export const VALIDATE_USAGE = `Usage: mcp-gateway validate [--config FILE]
  Check a config: its syntax and keys, \${VAR} references, that every enabled stdio backend's \`cwd\` exists and
  its \`command\` is on PATH (or, as a path, exists relative to its cwd), and that a host beyond loopback has
  \`auth\`. Prints every problem, naming the backend; warnings are printed too.
  ${CONFIG_DISCOVERY}
Exit codes: 0 valid (warnings may be printed), 2 usage error or problems found.`;

export const DOCTOR_USAGE = `Usage: mcp-gateway doctor [--config FILE]
  Check that this config will serve: its syntax, keys and \${VAR} references, every enabled stdio backend's
  command and cwd, that the port is free, the capability files; then start every enabled backend once, in
  parallel (a line as each answers), list its tools with the time taken, and stop it. Prints a table of
  what works and, for what does not, the fix.
  ${CONFIG_DISCOVERY}
Exit codes: 0 all well, 1 something fails, 2 usage or config error.`;

export const IMPORT_USAGE = `Usage: mcp-gateway import FILE... [--config FILE] [--dry-run]
  Add the MCP servers of other clients' config files to gateway.yaml as backends: Claude Desktop
  (claude_desktop_config.json), Claude Code (.mcp.json), Cursor (mcp.json), Windsurf (mcp_config.json) and
  VS Code (mcp.json, or settings.json's "mcp"). Comments and other keys of gateway.yaml are kept; a name that
  already exists is skipped and reported. \${env:VAR} and VS Code's \${input:id} become \${VAR} references;
  a literal secret in env or headers is replaced by a \${VAR} reference, and the variables to set are printed
  (their values never are).
  --config FILE   the gateway.yaml to write (default: as for serving, else ./gateway.yaml, created if missing)
  --dry-run       print the YAML that would be written instead of writing it
Exit codes: 0 done (also when every server was skipped), 2 usage error, unreadable or invalid input, or
cannot write.`;

export const CLIENT_CONFIG_USAGE = `Usage: mcp-gateway client-config CLIENT [--config FILE] [--url URL]
  Print what connects CLIENT to this gateway's /mcp: claude (a \`claude mcp add\` command line),
  claude-desktop, cursor, windsurf or vscode (JSON to merge into the client's config file).
  The URL comes from server.host and server.port (0.0.0.0 and :: become loopback), or --url.
  When the config has auth keys, an Authorization header with a GATEWAY_TOKEN placeholder is included,
  never a token.
  ${CONFIG_DISCOVERY}
Exit codes: 0 printed, 2 usage or config error.`;

export const USAGE = `Usage:
  mcp-gateway [serve] [--config FILE] [--host H] [--port N] [--log-level LEVEL]   serve
  mcp-gateway stdio [--config FILE] [--log-level LEVEL]      MCP on stdin/stdout, for clients that launch a command
  mcp-gateway validate [--config FILE]                       check a config
  mcp-gateway doctor [--config FILE]                         check a config, the port, and start every backend once
  mcp-gateway import FILE... [--config FILE] [--dry-run]     add other clients' MCP servers to gateway.yaml
  mcp-gateway client-config CLIENT [--config FILE] [--url URL]
                                     connection snippet for claude, claude-desktop, cursor, windsurf, vscode
  mcp-gateway cap import SPEC --output DIR [...]             OpenAPI 3.x / Swagger 2 → capability files
  mcp-gateway cap validate [DIR]...                          check capability files
  mcp-gateway --version | --help | COMMAND --help
  ${CONFIG_DISCOVERY}
Exit codes: 0 ok, 1 runtime failure (cannot listen), 2 usage or config error.`;
