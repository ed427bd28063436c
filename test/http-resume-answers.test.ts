import {
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BoundedEventStore } from '../src/http/event-store.js';
import { answeredId, isPriming, PrimingTurns } from '../src/http/resume.js';

/** What the SDK's guards say a stored message answers (the check answeredId replaces on the hot path). */
const byGuards = (m: JSONRPCMessage) => (isJSONRPCResultResponse(m) || isJSONRPCErrorResponse(m) ? m.id : undefined);

describe('answeredId', () => {
  it('agrees with the SDK guards on every message a real 2025 session stores', async () => {
    const stored: JSONRPCMessage[] = [];
    const server = new McpServer({ name: 't', version: '1' }, { capabilities: { logging: {} } });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }, ctx) => {
      await ctx.mcpReq.log('info', `echo ${text}`);
      return { content: [{ type: 'text', text }], structuredContent: { text } };
    });
    server.registerTool('fail', { inputSchema: z.object({}) }, async () => {
      throw new Error('no');
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: new BoundedEventStore({ maxEvents: 100, maxBytes: 1 << 20 }, (_stream, message) => stored.push(message)),
    });
    await server.connect(transport);
    const client = new Client({ name: 'c', version: '1' });
    const inProcess = (input: string | URL | Request, init?: RequestInit) => transport.handleRequest(new Request(input, init));
    await client.connect(new StreamableHTTPClientTransport(new URL('http://in-process/mcp'), { fetch: inProcess }));
    await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    await client.callTool({ name: 'fail', arguments: {} });
    await client.request({ method: 'tools/call', params: { name: 'missing', arguments: {} } }).catch(() => {});
    await client.close();
    await server.close();

    const answers = stored.map(answeredId).filter((id) => id !== undefined);
    expect(stored.some((m) => Object.keys(m).length === 0)).toBe(true); // priming events were stored
    expect(stored.some((m) => 'method' in m)).toBe(true); // and the log notification
    expect(answers.length).toBeGreaterThanOrEqual(3);
    for (const message of stored) expect(answeredId(message)).toEqual(byGuards(message));
  });

  it('a request or notification from the server, or an id that is no request id, answers nothing', () => {
    const messages = [
      { jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } },
      { jsonrpc: '2.0', id: 'a', result: {} },
      { jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'bad' } },
      {},
    ] as unknown as JSONRPCMessage[];
    expect(messages.map(answeredId)).toEqual([undefined, undefined, undefined, 'a', 3, undefined]);
    for (const message of messages) expect(answeredId(message)).toEqual(byGuards(message));
  });
});

describe('PrimingTurns', () => {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("gives each of a session's concurrent POSTs the priming stored while its own handleRequest ran", async () => {
    const turns = new PrimingTurns();
    const first = turns.run(async () => {
      await tick();
      turns.stored('stream-a');
      await tick();
      return new Response('a');
    });
    const second = turns.run(async () => {
      turns.stored('stream-b');
      return new Response('b');
    });
    const [a, b] = await Promise.all([first, second]);
    expect([a.streamId, await a.response.text()]).toEqual(['stream-a', 'a']);
    expect([b.streamId, await b.response.text()]).toEqual(['stream-b', 'b']);
  });

  it('names no stream when none or two were primed in a turn, ignores primings outside turns, and frees the turn on a throw', async () => {
    const turns = new PrimingTurns();
    turns.stored('outside');
    expect((await turns.run(async () => new Response(null))).streamId).toBeUndefined();
    const two = await turns.run(async () => {
      turns.stored('x');
      turns.stored('y');
      return new Response(null);
    });
    expect(two.streamId).toBeUndefined();
    await expect(turns.run(async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const after = await turns.run(async () => {
      turns.stored('z');
      return new Response(null);
    });
    expect(after.streamId).toBe('z');
  });

  it('a priming event is the empty object the SDK stores, not a JSON-RPC message', () => {
    expect(isPriming({} as JSONRPCMessage)).toBe(true);
    expect(isPriming({ jsonrpc: '2.0', id: 1, result: {} } as JSONRPCMessage)).toBe(false);
  });
});
