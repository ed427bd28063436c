import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError, readConfig } from '../config/load.js';
import { backendName } from '../config/schema.js';
import { discoverConfig, placeholderEnv } from './config-file.js';
import { Converter } from './import-convert.js';
import { readClientFile } from './import-read.js';

/**
 * `mcp-gateway import FILE...`: other clients' servers merged into gateway.yaml's `backends`, through
 * `yaml`'s Document so that the file's comments, order and other keys stay as they were.
 * Exit codes: 0 done, 2 usage error, unreadable or invalid input, or cannot write.
 */
export async function runImport(files: string[], options: { config?: string; dryRun: boolean }): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (files.length === 0) {
    say('mcp-gateway import: name at least one client config file (see mcp-gateway import --help)');
    return 2;
  }
  const target = options.config ?? discoverConfig() ?? 'gateway.yaml';
  const existing = await readFile(target, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : error));
  if (existing instanceof Error) {
    say(`mcp-gateway import: cannot read ${target}: ${existing.code ?? existing.message}`);
    return 2;
  }
  const doc = parseDocument(existing);
  if (doc.errors.length > 0) {
    say(`mcp-gateway import: ${target} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix it first`);
    return 2;
  }
  const backends = backendsMap(doc);
  if (!backends) {
    say(`mcp-gateway import: ${target}: \`backends\` is not a mapping`);
    return 2;
  }

  const converter = new Converter(dirname(resolve(target)));
  const variables = new Map<string, string>();
  const added: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error);
    if (text instanceof Error) {
      say(`mcp-gateway import: cannot read ${file}: ${text.code ?? text.message}`);
      return 2;
    }
    const source = readClientFile(file, text);
    if (typeof source === 'string') {
      say(`mcp-gateway import: ${source}`);
      return 2;
    }
    for (const [clientName, entry] of Object.entries(source.servers)) {
      const name = backendName.test(clientName)
        ? clientName
        : clientName.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-_.]+|-+$/g, '') || 'server';
      if (backends.has(name)) {
        say(`skipped ${name} from ${file}: a backend of that name exists in ${target}`);
        continue;
      }
      const converted = converter.convert(source, clientName, entry, name);
      for (const note of converted.notes) say(`note: ${note}`);
      if (Object.keys(converted.backend).length === 0) continue;
      if (name !== clientName) say(`note: ${clientName} is named ${name} (backend names use letters, digits, _ . -)`);
      const node = doc.createNode(converted.backend) as YAMLMap;
      const args = node.get('args', true);
      if (args && typeof args === 'object') (args as { flow?: boolean }).flow = true;
      backends.set(name, node);
      added.push(name);
      for (const [variable, why] of converted.variables) if (!variables.has(variable)) variables.set(variable, why);
    }
  }

  const output = String(doc);
  // The result must be a valid config whatever the variables turn out to be: checked with every one set.
  try {
    readConfig(output, { file: target, env: placeholderEnv() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    say(`mcp-gateway import: the result would not be a valid config; nothing written:\n${error.message}`);
    return 2;
  }
  if (added.length === 0) {
    say(`nothing to add to ${target}`);
    return 0;
  }
  if (options.dryRun) process.stdout.write(output);
  else {
    try {
      await writeFile(target, output);
    } catch (error) {
      say(`mcp-gateway import: cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      return 2;
    }
  }
  say(`${options.dryRun ? 'would add' : 'added'} ${added.join(', ')} to ${target}`);
  if (variables.size > 0) {
    say('environment variables the gateway needs (set them before serving):');
    for (const [variable, why] of variables) say(`  ${variable}: ${why}`);
  }
  return 0;
}

/** `backends:` as a block mapping, created when absent or an empty `{}`. */
function backendsMap(doc: Document): YAMLMap | undefined {
  const node = doc.get('backends', true);
  if (node === undefined || node === null || (isMap(node) && node.items.length === 0)) {
    const fresh = doc.createNode({}) as YAMLMap;
    fresh.flow = false;
    if (doc.contents === null) doc.contents = doc.createNode({});
    doc.set('backends', fresh);
    return fresh;
  }
  return isMap(node) ? node : undefined;
}
