import { getEventListeners } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perRequestSignals } from '../src/backends/fetch-signal.js';

/**
 * The HTTP backends' fetch: the SDK transport passes one long-lived signal to every request. undici would
 * hang a listener per request on it (until GC); through perRequestSignals it carries one, and aborting it
 * still ends requests in flight, body included.
 */
describe('perRequestSignals', () => {
  let server: Server;
  let url: string;
  /** Responses of /hold: headers and a first chunk sent, the rest never. */
  const held = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hold') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('leaves one listener on the shared signal however many requests used it', async () => {
    const fetchOnce = perRequestSignals();
    const shared = new AbortController();
    const responses: Response[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await fetchOnce(`${url}/`, { signal: shared.signal });
      expect(await response.text()).toBe('ok');
      responses.push(response); // kept alive, so no GC can remove a listener undici added
    }
    expect(getEventListeners(shared.signal, 'abort').length).toBeLessThanOrEqual(1);
    expect(responses).toHaveLength(40);
  });

  it('aborting the shared signal ends a request whose body is still coming', async () => {
    const fetchOnce = perRequestSignals();
    const shared = new AbortController();
    const response = await fetchOnce(`${url}/hold`, { signal: shared.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    const rest = reader.read();
    shared.abort(new Error('transport closed'));
    await expect(rest).rejects.toThrow();
  });

  it('a request started after the abort fails at once; a request without a signal is sent as it is', async () => {
    const fetchOnce = perRequestSignals();
    const shared = new AbortController();
    shared.abort();
    await expect(fetchOnce(`${url}/`, { signal: shared.signal })).rejects.toThrow();
    expect(await (await fetchOnce(`${url}/`)).text()).toBe('ok');
  });
});
