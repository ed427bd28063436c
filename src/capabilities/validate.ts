import type { ErrorObject, ValidateFunction } from 'ajv';

/** One thing wrong with a call's arguments: where (`size`, `items.0`, `(arguments)`) and what. */
export interface ArgumentProblem {
  path: string;
  message: string;
}

/**
 * The arguments do not fit the tool: they break its input schema, or a value would change where the
 * request goes (another origin, `..` in a path). Nothing was sent. The meta layer answers it as
 * `invalid_arguments`.
 */
export class InvalidArgumentsError extends Error {
  constructor(
    readonly server: string,
    readonly tool: string,
    readonly problems: ArgumentProblem[],
  ) {
    super(`invalid arguments for ${server}/${tool}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}; nothing was sent`);
    this.name = 'InvalidArgumentsError';
  }
}

/** The tool's input schema is not usable JSON Schema (say, a bad `pattern`): a fault of its file. */
export class InvalidSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSchemaError';
  }
}

type Compiler = { compile: (schema: object) => ValidateFunction };
let compilers: Promise<{ draft2020: Compiler; draft07: Compiler }> | undefined;

/**
 * ajv is loaded on the first call that validates (it is ~290 KB the gateway's start does not need).
 * JSON Schema 2020-12 is the default dialect of MCP tool schemas; a schema that says draft-07 gets draft-07.
 * Formats (email, uri, date-time …) are checked; unknown ones (OpenAPI's int32, byte …) are ignored.
 */
function loadCompilers() {
  compilers ??= (async () => {
    const [{ Ajv2020 }, ajv07, formats] = await Promise.all([import('ajv/dist/2020.js'), import('ajv'), import('ajv-formats')]);
    // CommonJS modules: the export sits on `default`, or on `default.default` depending on the loader.
    type AddFormats = (ajv: Compiler) => void;
    type AjvClass = new (options: object) => Compiler;
    const cjs = <T>(m: { default: unknown }) => ((m.default as { default?: T }).default ?? m.default) as T;
    const addFormats = cjs<AddFormats>(formats);
    const Ajv07 = cjs<AjvClass>(ajv07);
    const options = { allErrors: true, strict: false, logger: false, validateSchema: true } as const;
    const draft2020 = new Ajv2020(options);
    const draft07 = new Ajv07(options);
    addFormats(draft2020);
    addFormats(draft07);
    return { draft2020, draft07 };
  })();
  return compilers;
}

/** A compiled validator per schema object: each tool's schema is compiled once, on its first call. */
const compiled = new WeakMap<object, ValidateFunction>();

/** Check arguments against an input schema. Throws InvalidSchemaError when the schema itself cannot be compiled. */
export async function checkArguments(schema: object, args: Record<string, unknown>): Promise<ArgumentProblem[]> {
  const validate = await compile(schema);
  if (validate(args)) return [];
  return (validate.errors ?? []).map(describe);
}

/** Why a schema cannot check arguments (cap validate asks; the gateway finds out on the tool's first call), or undefined. */
export async function schemaProblem(schema: object): Promise<string | undefined> {
  try {
    await compile(schema);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidSchemaError) return error.message;
    throw error;
  }
}

async function compile(schema: object): Promise<ValidateFunction> {
  let validate = compiled.get(schema);
  if (!validate) {
    const { draft2020, draft07 } = await loadCompilers();
    const dialect = (schema as { $schema?: unknown }).$schema;
    const compiler = typeof dialect === 'string' && /draft-0[4-7]/.test(dialect) ? draft07 : draft2020;
    try {
      validate = compiler.compile(schema);
    } catch (error) {
      throw new InvalidSchemaError(`the tool's input schema is not valid JSON Schema: ${(error as Error).message}`);
    }
    compiled.set(schema, validate);
  }
  return validate;
}

function describe(error: ErrorObject): ArgumentProblem {
  const steps = error.instancePath.split('/').slice(1).map(pointerStep);
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is not valid';
  if (error.keyword === 'required') {
    steps.push(String(params.missingProperty));
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    steps.push(String(params.additionalProperty));
    message = 'is not an argument of this tool';
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { path: steps.length > 0 ? steps.join('.') : '(arguments)', message };
}

function pointerStep(step: string): string {
  return step.replace(/~1/g, '/').replace(/~0/g, '~');
}
