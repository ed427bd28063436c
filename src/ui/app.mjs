// The dashboard: plain browser JavaScript, no framework, no build. It talks only to the gateway's
// admin API (/admin/*) and to /mcp (the meta-tools, as stateless 2026-07-28 requests). Everything a
// backend or a client wrote is shown with textContent, never as HTML.

const KEY_STORE = 'mcp-gateway-admin-key';
const PROTOCOL = '2026-07-28';
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
let toolPrefix = '';
let rpcId = 0;
let refreshTimer;

/** An element with attributes/properties and children (strings become text nodes). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'onclick') node.addEventListener('click', value);
    else if (name === 'className') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ''));
  return node;
}

function say(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

class NeedsKey extends Error {}

function headers(extra) {
  const key = sessionStorage.getItem(KEY_STORE);
  return { Accept: 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...extra };
}

/** 401/403 show the sign-in form; other answers come back parsed, with their status. */
async function checked(response) {
  if (response.status === 401 || response.status === 403) {
    const hadKey = Boolean(sessionStorage.getItem(KEY_STORE));
    showLogin(response.status === 403 ? 'This key may not use the admin API.' : hadKey ? 'The gateway refused this key.' : '');
    throw new NeedsKey();
  }
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('text/event-stream') ? await response.text() : await response.json().catch(() => ({}));
  return { status: response.status, body };
}

async function admin(method, path) {
  const init = { method, headers: headers(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) };
  if (method === 'POST') init.body = '{}';
  return checked(await fetch(path, init));
}

/** One meta-tool call over /mcp; resolves with the CallToolResult. */
async function callMeta(tool, args) {
  const name = toolPrefix + tool;
  const id = ++rpcId;
  const response = await fetch('/mcp', {
    method: 'POST',
    headers: headers({
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': PROTOCOL,
      'Mcp-Method': 'tools/call',
      'Mcp-Name': name,
    }),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name,
        arguments: args,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': PROTOCOL,
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': { name: 'mcp-gateway-dashboard', version: '1' },
        },
      },
    }),
  });
  const { body } = await checked(response);
  const message = typeof body === 'string' ? fromEventStream(body, id) : body;
  if (message?.error) throw new Error(message.error.message);
  return message?.result ?? {};
}

function fromEventStream(text, id) {
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .join('\n');
    if (!data) continue;
    const message = JSON.parse(data);
    if (message.id === id) return message;
  }
  return undefined;
}

/** A meta-tool's answer: structuredContent, or its text parsed as JSON. */
function payload(result) {
  if (result.structuredContent) return result.structuredContent;
  const text = result.content?.find((c) => c.type === 'text')?.text;
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

function showLogin(message) {
  clearInterval(refreshTimer);
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('key').focus();
}

async function start() {
  try {
    const { body } = await admin('GET', '/admin/config');
    toolPrefix = body.config?.meta_mcp?.tool_prefix ?? '';
  } catch (error) {
    if (error instanceof NeedsKey) return;
    say(`Cannot reach the gateway: ${error.message}`, true);
    return;
  }
  const key = sessionStorage.getItem(KEY_STORE);
  $('who').textContent = key ? 'signed in with a key' : 'no auth configured (loopback)';
  $('forget').hidden = !key;
  $('login').hidden = true;
  $('app').hidden = false;
  await refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
}

async function refresh() {
  await Promise.all([loadServers(), loadCalls(), loadUsage()]);
}

const fmtUptime = (s) => (s === null ? '' : s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

async function loadServers() {
  const { body } = await admin('GET', '/admin/servers');
  const rows = body.servers.map((s) =>
    el(
      'tr',
      { 'data-server': s.name },
      el('td', {}, el('b', {}, s.name), s.description ? el('div', { className: 'help' }, s.description) : ''),
      el('td', { className: `state-${s.state}` }, s.state),
      el('td', {}, s.transport),
      el('td', { className: 'num' }, s.tools ?? '–'),
      el('td', { className: `circuit-${s.circuit}` }, s.circuit),
      el('td', { className: 'num' }, s.pid ?? ''),
      el('td', {}, fmtUptime(s.uptime_s)),
      el('td', { className: 'error' }, s.error ?? ''),
      el(
        'td',
        {},
        el('button', { type: 'button', onclick: guarded(() => showTools(s.name)) }, 'Tools'),
        ...['start', 'stop', 'restart'].map((op) =>
          el('button', { type: 'button', 'data-op': op, onclick: guarded(() => operate(s.name, op)) }, op),
        ),
      ),
    ),
  );
  $('servers').tBodies[0].replaceChildren(...rows);
  const select = $('invoke-server');
  const chosen = select.value;
  select.replaceChildren(...body.servers.map((s) => el('option', { value: s.name }, s.name)));
  if (chosen) select.value = chosen;
}

async function operate(server, operation) {
  say(`${operation} ${server}…`);
  const { status, body } = await admin('POST', `/admin/servers/${encodeURIComponent(server)}/${operation}`);
  if (status === 200) say(`${operation} ${server}: done, state ${body.server.state}${body.note ? ` (${body.note})` : ''}`);
  else say(`${operation} ${server} failed: ${body.error}`, true);
  await loadServers();
}

async function showTools(server) {
  const box = $('tools');
  box.replaceChildren(el('p', { className: 'help' }, `Listing the tools of ${server}…`));
  const result = await callMeta('list_tools', { server });
  const data = payload(result);
  if (result.isError) {
    box.replaceChildren(el('p', { className: 'error' }, data.error?.message ?? 'failed'));
    return;
  }
  box.replaceChildren(
    el('h3', {}, `${server}: ${data.tools.length} tools`),
    ...data.tools.map((tool) =>
      el(
        'div',
        { className: 'tool' },
        el('code', {}, tool.name),
        ' ',
        el('button', { type: 'button', onclick: () => fillInvoke(server, tool.name, tool.inputSchema) }, 'Try'),
        el('div', {}, tool.description ?? ''),
        el('details', {}, el('summary', {}, 'input schema'), el('pre', {}, JSON.stringify(tool.inputSchema, null, 2))),
      ),
    ),
  );
  await loadServers();
}

/** Prefill the invoke form, with an argument skeleton from the schema's required properties. */
function fillInvoke(server, tool, schema) {
  $('invoke-server').value = server;
  $('invoke-tool').value = tool;
  const skeleton = {};
  for (const name of schema?.required ?? []) {
    const type = schema.properties?.[name]?.type;
    skeleton[name] =
      type === 'number' || type === 'integer' ? 0 : type === 'boolean' ? false : type === 'object' ? {} : type === 'array' ? [] : '';
  }
  $('invoke-args').value = JSON.stringify(skeleton, null, 2);
  $('invoke-tool').scrollIntoView({ block: 'center' });
}

async function search(event) {
  event.preventDefault();
  const query = $('query').value;
  let result = await callMeta('search_tools', { query, limit: 10 });
  // Servers never started are started by the search; while some are still starting, ask again shortly.
  for (let attempt = 0; attempt < 5 && payload(result).unavailable?.some((u) => u.state === 'starting'); attempt++) {
    $('search-note').textContent = 'Some servers are still starting; searching again in a moment…';
    await new Promise((resolve) => setTimeout(resolve, 1000));
    result = await callMeta('search_tools', { query, limit: 10 });
  }
  const data = payload(result);
  const body = $('results').tBodies[0];
  if (result.isError) {
    body.replaceChildren();
    $('search-note').textContent = data.error?.message ?? 'search failed';
    return;
  }
  const notes = [];
  if (data.hint) notes.push(data.hint);
  if (data.unavailable?.length) notes.push(`Not searched (unavailable): ${data.unavailable.map((u) => u.server).join(', ')}`);
  $('search-note').textContent = notes.length ? notes.join(' ') : `${data.results.length} results for “${query}”`;
  body.replaceChildren(
    ...data.results.map((hit) =>
      el(
        'tr',
        {},
        el('td', { className: 'num' }, hit.score.toFixed(3)),
        el('td', {}, hit.server),
        el('td', {}, el('code', {}, hit.tool)),
        el('td', {}, hit.description ?? ''),
        el('td', {}, el('button', { type: 'button', onclick: () => fillInvoke(hit.server, hit.tool, hit.inputSchema) }, 'Try')),
      ),
    ),
  );
}

async function invoke(event) {
  event.preventDefault();
  const out = $('invoke-result');
  let args;
  try {
    args = JSON.parse($('invoke-args').value || '{}');
  } catch (error) {
    out.className = 'error';
    out.textContent = `The arguments are not valid JSON: ${error.message}`;
    return;
  }
  out.className = '';
  out.textContent = 'calling…';
  const started = performance.now();
  const result = await callMeta('invoke', { server: $('invoke-server').value, tool: $('invoke-tool').value, arguments: args });
  const ms = Math.round(performance.now() - started);
  out.className = result.isError ? 'error' : '';
  const shown = result.structuredContent ?? result.content?.map((c) => (c.type === 'text' ? tryJson(c.text) : c));
  out.textContent = `${result.isError ? 'error' : 'ok'} in ${ms} ms\n${JSON.stringify(shown, null, 2)}`;
  await Promise.all([loadCalls(), loadUsage(), loadServers()]);
}

function tryJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function loadCalls() {
  const { body } = await admin('GET', '/admin/calls?limit=20');
  $('calls').tBodies[0].replaceChildren(
    ...body.calls.map((call) =>
      el(
        'tr',
        {},
        el('td', {}, new Date(call.time).toLocaleTimeString()),
        el('td', {}, call.key),
        el('td', {}, call.server),
        el('td', {}, call.tool),
        el('td', { className: call.outcome === 'ok' ? 'outcome-ok' : 'outcome-error' }, call.outcome),
        el('td', { className: 'num' }, call.duration_ms),
        el('td', { className: 'num' }, call.arg_bytes),
      ),
    ),
  );
}

async function loadUsage() {
  const { body } = await admin('GET', '/admin/usage');
  $('usage-since').textContent = `Counted in memory since ${new Date(body.since).toLocaleString()} (the gateway's start).`;
  const cells = (u) => [u.calls, u.errors, u.duration_ms, u.bytes_in, u.bytes_out].map((n) => el('td', { className: 'num' }, n));
  $('usage-tools').tBodies[0].replaceChildren(...body.tools.map((u) => el('tr', {}, el('td', {}, `${u.server}/${u.tool}`), ...cells(u))));
  $('usage-keys').tBodies[0].replaceChildren(...body.keys.map((u) => el('tr', {}, el('td', {}, u.key), ...cells(u))));
}

async function reload() {
  say('reloading…');
  const { status, body } = await admin('POST', '/admin/reload');
  if (status === 200) {
    const parts = ['added', 'removed', 'changed'].map((k) => `${k}: ${body[k]?.length ? body[k].join(', ') : 'none'}`);
    say(`Reload applied (${parts.join('; ')})`);
  } else {
    say(`Reload rejected: ${(body.problems ?? [body.error]).join('; ')}`, true);
  }
  await loadServers();
}

/** Wrap a handler so a failure is shown, not lost; a missing key already showed the sign-in form. */
const guarded =
  (handler) =>
  (...args) =>
    handler(...args).catch((error) => {
      if (!(error instanceof NeedsKey)) say(error.message, true);
    });

$('login-form').addEventListener(
  'submit',
  guarded(async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORE, $('key').value.trim());
    $('key').value = '';
    await start();
  }),
);
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORE);
  location.reload();
});
$('reload').addEventListener('click', guarded(reload));
$('search-form').addEventListener('submit', guarded(search));
$('invoke-form').addEventListener('submit', guarded(invoke));
guarded(start)();
