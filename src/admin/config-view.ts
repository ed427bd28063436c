import type { GatewayConfig } from '../config/schema.js';
import { redactDeep } from '../secrets/redact.js';

export const MASK = '«masked»';

/** Keys whose every value is masked, whatever it holds: headers and env carry credentials by design. */
const MASK_ALL_VALUES = new Set(['headers', 'env']);
/** Keys whose value is masked itself. */
const SECRET_KEY = /token|secret|password|passwd|credential|api_?key|authorization|cookie|redis_url/i;

/**
 * The effective config for GET /admin/config: every header and env value, every token (and token
 * digest), anything under a secret-sounding key and the password of any URL masked; then every value
 * that came from `${VAR}` redacted as everywhere else.
 */
export function maskedConfig(config: GatewayConfig): unknown {
  return redactDeep(mask(config, ''));
}

function mask(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v, key));
  if (value !== null && typeof value === 'object') {
    if (MASK_ALL_VALUES.has(key)) return Object.fromEntries(Object.keys(value).map((k) => [k, MASK]));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined ? maskLeaf(v) : mask(v, k)]));
  }
  return typeof value === 'string' ? withoutUrlPassword(value) : value;
}

/** A secret key's value: strings and numbers masked; an object's leaves masked, its shape kept. */
function maskLeaf(value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    return Array.isArray(value) ? value.map(maskLeaf) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskLeaf(v)]));
  }
  return typeof value === 'boolean' || value === null ? value : MASK;
}

function withoutUrlPassword(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (!url.password && !url.username) return text;
    if (url.password) url.password = 'masked';
    return url.toString();
  } catch {
    return text;
  }
}
