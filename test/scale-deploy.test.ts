/**
 * The deploy/ files agree with each other and with the gateway: the replica config loads and may bind
 * 0.0.0.0 (it has auth), HAProxy accepts its config, and the compose file wires the same names, ports
 * and paths. The image is built and run only where a container engine answers (skipped otherwise).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkExposure } from '../src/config/exposure.js';
import { ConfigError, loadConfigFile } from '../src/config/load.js';
import { repoRoot } from './helpers.js';
import { findBinary, freePort } from './scale-harness.js';

const run = promisify(execFile);
const deploy = (file: string) => join(repoRoot, 'deploy', file);
const haproxy = findBinary('haproxy');
const ENV = { MCP_GATEWAY_TOKEN: 'a-test-token-of-enough-length' };

/** A container engine that answers (not only its client binary). */
function workingEngine(): string | undefined {
  for (const engine of ['docker', 'podman']) {
    try {
      execFileSync(engine, ['info'], { stdio: 'ignore', timeout: 10_000 });
      return engine;
    } catch {
      // absent, or its daemon is not running
    }
  }
  return undefined;
}
const engine = workingEngine();
if (!engine) console.warn('scale-deploy: image build/run SKIPPED, no working container engine (docker/podman info failed)');

describe('deploy/ files', () => {
  it('gateway.yaml loads, binds 0.0.0.0 with auth, shares rate limits, and needs its token', async () => {
    const config = await loadConfigFile(deploy('gateway.yaml'), ENV);
    expect(config.server.host).toBe('0.0.0.0');
    expect(checkExposure(config)).toBeUndefined();
    expect(config.server.allowed_hosts).toContain('localhost'); // the Host HAProxy's checks send
    expect(config.cluster?.shared_rate_limits?.redis_url).toBe('redis://redis:6379/0');
    await expect(loadConfigFile(deploy('gateway.yaml'), {})).rejects.toThrow(ConfigError);
    await expect(loadConfigFile(deploy('gateway.yaml'), {})).rejects.toThrow(/MCP_GATEWAY_TOKEN/);
  });

  it.skipIf(!haproxy)('haproxy accepts haproxy.cfg', async () => {
    // -c: check only. Names that do not resolve here (compose service names) are allowed by init-addr.
    const { stdout } = await run(haproxy!, ['-c', '-f', deploy('haproxy/haproxy.cfg')]);
    expect(stdout).toMatch(/Configuration file is valid/);
  });

  it('compose.yaml, haproxy.cfg, gateway.yaml and the Dockerfile name the same services, port and paths', async () => {
    const compose = parseYaml(readFileSync(deploy('compose.yaml'), 'utf8')) as {
      services: Record<string, { volumes?: string[]; build?: { context: string; dockerfile: string } }>;
    };
    const config = await loadConfigFile(deploy('gateway.yaml'), ENV);
    const cfg = readFileSync(deploy('haproxy/haproxy.cfg'), 'utf8');
    const servers = [...cfg.matchAll(/^\s*server (\S+) ([^:\s]+):(\d+)/gm)].map((m) => ({ host: m[2]!, port: Number(m[3]) }));
    expect(servers.length).toBeGreaterThanOrEqual(2);
    for (const server of servers) {
      expect(compose.services).toHaveProperty(server.host);
      expect(server.port).toBe(config.server.port);
      const service = compose.services[server.host]!;
      expect(service.volumes).toContain('./gateway.yaml:/etc/mcp-gateway/gateway.yaml:ro');
      expect(existsSync(join(repoRoot, 'deploy', service.build!.context, service.build!.dockerfile))).toBe(true);
    }
    expect(compose.services.balancer?.volumes).toContain('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')).toMatch(/CMD \["--config", "\/etc\/mcp-gateway\/gateway\.yaml"\]/);
  });
});

describe.skipIf(!engine)('the container image (built and run with a working engine)', () => {
  const tag = `mcp-gateway-test:${process.pid}`;
  let container: string | undefined;
  afterAll(async () => {
    if (container) await run(engine!, ['rm', '-f', container]).catch(() => {});
    await run(engine!, ['rmi', '-f', tag]).catch(() => {});
  });

  it('builds, runs as a non-root user, and serves /ready from the mounted config', { timeout: 600_000 }, async () => {
    await run(engine!, ['build', '-t', tag, repoRoot], { maxBuffer: 64 * 1024 * 1024 });
    const { stdout: uid } = await run(engine!, ['run', '--rm', '--entrypoint', 'id', tag, '-u']);
    expect(uid.trim()).not.toBe('0');
    const port = await freePort();
    const { stdout } = await run(engine!, [
      'run',
      '-d',
      '-p',
      `127.0.0.1:${port}:39400`,
      '-e',
      `MCP_GATEWAY_TOKEN=${ENV.MCP_GATEWAY_TOKEN}`,
      '-v',
      `${deploy('gateway.yaml')}:/etc/mcp-gateway/gateway.yaml:ro`,
      tag,
    ]);
    container = stdout.trim();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/ready`, { headers: { host: 'localhost' } }).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});
