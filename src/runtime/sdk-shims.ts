import { createRequire } from 'node:module';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/server';

/**
 * Stands in for the SDKs' `@modelcontextprotocol/{server,client}/_shims` entry in the bundle
 * (scripts/build.mjs substitutes it). Their Node shim imports ajv, whose ~290 KB evaluates at start-up
 * although the gateway never validates a JSON Schema on its hot paths: the front server only uses one
 * for elicitation forms, and the backend leg passes tools/call results through unvalidated. Here the
 * SDK's own validator is required the first time a schema is actually validated, and the server and
 * client share that one copy of ajv.
 */
export { default as process } from 'node:process';

/** fetch() in Node throws TypeError for network errors, never for CORS (the SDK's Node shim says the same). */
export const CORS_IS_POSSIBLE = false;

type ValidatorClass = new () => jsonSchemaValidator;
let sdkValidator: ValidatorClass | undefined;

export class DefaultJsonSchemaValidator implements jsonSchemaValidator {
  private real: jsonSchemaValidator | undefined;

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    if (!this.real) {
      // The CommonJS build of the same shim, resolved from node_modules at run time (synchronous, like the call).
      sdkValidator ??= (
        createRequire(import.meta.url)('@modelcontextprotocol/server/_shims') as { DefaultJsonSchemaValidator: ValidatorClass }
      ).DefaultJsonSchemaValidator;
      this.real = new sdkValidator();
    }
    return this.real.getValidator<T>(schema);
  }
}
