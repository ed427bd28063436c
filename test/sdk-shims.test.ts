import { describe, expect, it } from 'vitest';
import { CORS_IS_POSSIBLE, DefaultJsonSchemaValidator, process as shimProcess } from '../src/runtime/sdk-shims.js';

// The bundle's stand-in for the SDKs' `_shims` entry (scripts/build.mjs): it must behave like the SDK's own.
describe('the lazy SDK shim', () => {
  it('validates with the SDK validator once asked, and exports what the SDK imports', () => {
    const validate = new DefaultJsonSchemaValidator().getValidator<{ a: number }>({
      type: 'object',
      properties: { a: { type: 'number' } },
      required: ['a'],
    });
    expect(validate({ a: 1 })).toEqual({ valid: true, data: { a: 1 }, errorMessage: undefined });
    const bad = validate({ a: 'x' });
    expect(bad.valid).toBe(false);
    expect(bad.errorMessage).toMatch(/must be number/);
    expect(shimProcess).toBe(process);
    expect(CORS_IS_POSSIBLE).toBe(false);
  });
});
