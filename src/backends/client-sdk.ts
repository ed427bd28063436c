import type * as ClientSdk from '@modelcontextprotocol/client';
import type * as StdioSdk from '@modelcontextprotocol/client/stdio';

/**
 * The MCP client SDK, loaded when the first backend connects rather than at start-up: it carries its own
 * copy of the protocol schemas, and a gateway whose backends are all lazy serves /health without it
 * (measured: about a sixth of start-up time; `npm run bench -- --only startup`).
 */
export type ClientSdkModule = typeof ClientSdk & Pick<typeof StdioSdk, 'StdioClientTransport'>;

let loading: Promise<ClientSdkModule> | undefined;
let loaded: ClientSdkModule | undefined;

export function loadClientSdk(): Promise<ClientSdkModule> {
  loading ??= Promise.all([import('@modelcontextprotocol/client'), import('@modelcontextprotocol/client/stdio')]).then(
    ([client, stdio]) => {
      loaded = { ...client, StdioClientTransport: stdio.StdioClientTransport };
      return loaded;
    },
  );
  return loading;
}

/** The SDK if a backend has connected; errors from a backend call can only exist once it has. */
export function loadedClientSdk(): ClientSdkModule | undefined {
  return loaded;
}
