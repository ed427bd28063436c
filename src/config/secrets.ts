import { setSecrets } from '../secrets/redact.js';
import type { EnvSecret } from './env.js';

/**
 * Register a loaded config's environment values for redaction (replacing the previous config's).
 * Called where a config is put into service (the CLI's serve path; a reload should call it with the new
 * config's secrets), never by parsing, which stays free of process-wide effects.
 * A value is also registered as JSON writes it inside a string (quotes, backslashes, control characters
 * escaped), so a secret with such characters is still found in a JSON log line or answer.
 */
export function registerConfigSecrets(secrets: readonly EnvSecret[]): void {
  const all: EnvSecret[] = [];
  for (const secret of secrets) {
    all.push(secret);
    const escaped = JSON.stringify(secret.value).slice(1, -1);
    if (escaped !== secret.value) all.push({ value: escaped, name: secret.name });
  }
  setSecrets(all);
}
