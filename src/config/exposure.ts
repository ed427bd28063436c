import { isIPv4, isIPv6 } from 'node:net';
import type { GatewayConfig } from './schema.js';

/** 127.0.0.0/8, ::1 (in any spelling, also IPv4-mapped 127.x) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  // The URL parser writes an IPv6 address in its canonical form ([::1], [::ffff:7f00:1]).
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/**
 * Why this config must not be served, or undefined: a bind beyond loopback with no `auth` would give
 * anyone who can reach the machine every backend's tools (files, shells, tokens), so it needs `auth` or
 * an explicit `server.allow_unauthenticated_network: true`.
 */
export function checkExposure(config: GatewayConfig): string | undefined {
  const { host, allow_unauthenticated_network } = config.server;
  if (isLoopbackHost(host) || config.auth || allow_unauthenticated_network) return undefined;
  return (
    `server.host ${host} is not a loopback address and the config has no \`auth\` section, so anyone who can reach ` +
    'this machine could call every backend. Add `auth` (API keys or OAuth), bind 127.0.0.1, or set ' +
    '`server.allow_unauthenticated_network: true`'
  );
}
