// Imported as JSON, so esbuild inlines it into the bundle: the version needs no file lookup at run time.
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
