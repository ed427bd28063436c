import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.js';
import { type RunningGateway, startGateway } from '../src/server.js';
import { UI_ASSETS } from '../src/ui/assets.js';
import { fixtureBackend, repoRoot } from './helpers.js';

/**
 * The dashboard: its embedded assets match the files, it is served with a strict CSP, and in a real
 * Chromium (Debian's `chromium`, driven by puppeteer-core) a newcomer can sign in, search, invoke,
 * restart and reload. DASHBOARD_SCREENSHOT=docs/dashboard.png saves what the page shows at the end.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (path): path is string => Boolean(path && existsSync(path)),
);
if (!CHROMIUM)
  console.warn('dashboard.test.ts: no chromium binary (apt-get install -y chromium, or set CHROMIUM_PATH); the browser tests are skipped');

const ADMIN = 'dashboard-admin-token-0123456789';
const USER = 'dashboard-user-token-0123456789';

describe('dashboard assets', () => {
  it('assets.ts holds exactly the files in src/ui (run `node src/ui/embed.mjs` after editing them)', () => {
    const files: Record<string, string> = { 'index.html': 'index.html', 'app.js': 'app.mjs', 'style.css': 'style.css' };
    expect(Object.keys(UI_ASSETS).sort()).toEqual(Object.keys(files).sort());
    for (const [name, file] of Object.entries(files))
      expect(UI_ASSETS[name]?.body).toBe(readFileSync(join(repoRoot, 'src/ui', file), 'utf8'));
  });
});

describe('dashboard', () => {
  let dir: string;
  let gateway: RunningGateway;
  let base: string;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    if (CHROMIUM) {
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      });
      page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
    }
    dir = mkdtempSync(join(tmpdir(), 'gw-dashboard-'));
    const file = join(dir, 'gateway.yaml');
    const config = {
      server: { port: 0, watch: false },
      capability_dirs: [],
      auth: {
        keys: [
          { name: 'ops', token: ADMIN, admin: true },
          { name: 'app', token: USER },
        ],
      },
      backends: {
        fx: fixtureBackend([], { description: 'test fixture: echo, pid, slow' }),
        notes: fixtureBackend(['--name', 'notes', '--tools', '3'], { description: 'a second fixture with generated tools' }),
      },
    };
    writeFileSync(file, JSON.stringify(config));
    gateway = await startGateway(await loadConfigFile(file), { configFile: file });
    base = gateway.url.replace(/\/mcp$/, '');
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page without a key, with a CSP that forbids framing and foreign scripts', async () => {
    const page = await fetch(`${base}/ui`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/ui/app.js">');
    const script = await fetch(`${base}/ui/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/ui/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('is protected against cross-site use like the admin API: foreign Origin 403, form posts 415', async () => {
    expect((await fetch(`${base}/ui`, { headers: { origin: 'http://evil.example.com' } })).status).toBe(403);
    const form = await fetch(`${base}/admin/servers/fx/restart`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(415);
  });

  describe.skipIf(!CHROMIUM)('in Chromium', () => {
    const text = (selector: string) => page.$eval(selector, (node) => (node as HTMLElement).innerText);
    const waitForText = (selector: string, wanted: string | RegExp) =>
      page.waitForFunction(
        (sel, source, flags) => new RegExp(source, flags).test((document.querySelector(sel) as HTMLElement | null)?.innerText ?? ''),
        {},
        selector,
        typeof wanted === 'string' ? wanted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : wanted.source,
        typeof wanted === 'string' ? '' : wanted.flags,
      );
    const invoke = async (server: string, tool: string, args: string) => {
      await page.select('#invoke-server', server);
      await page.$eval('#invoke-tool', (node, value) => ((node as HTMLInputElement).value = value), tool);
      await page.$eval('#invoke-args', (node, value) => ((node as HTMLTextAreaElement).value = value), args);
      await page.$eval('#invoke-result', (node) => (node.textContent = ''));
      await page.click('#invoke-form button[type=submit]');
      await waitForText('#invoke-result', /^(ok|error) in \d+ ms|not valid JSON/);
      return text('#invoke-result');
    };
    const pidOf = async () => Number(/"pid": (\d+)/.exec(await invoke('fx', 'pid', '{}'))?.[1]);

    it('asks for a key, keeps it in the session (never in the URL) and shows the servers', async () => {
      await page.goto(`${base}/ui`);
      await page.waitForSelector('#login:not([hidden])');
      await page.type('#key', USER);
      await page.click('#login-form button');
      await waitForText('#login-error', 'This key may not use the admin API.');
      await page.type('#key', ADMIN);
      await page.click('#login-form button');
      await page.waitForSelector('#app:not([hidden])');
      await waitForText('#servers', 'notes');
      expect(page.url()).toBe(`${base}/ui`);
      expect(await page.evaluate(() => sessionStorage.getItem('mcp-gateway-admin-key'))).toBe(ADMIN);
      const rows = await page.$$eval('#servers tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-server')));
      expect(rows).toEqual(['fx', 'notes']);
      expect(await text('#servers tbody tr[data-server=fx]')).toMatch(/idle/);
    });

    it("lists a server's tools with their input schemas", async () => {
      await page.click('#servers tr[data-server=fx] button');
      await waitForText('#tools', 'fx: 6 tools');
      expect(await page.$$eval('#tools details pre', (pres) => pres.length)).toBe(6);
      expect(await page.$eval('#tools details pre', (pre) => pre.textContent)).toContain('"type": "object"');
      await waitForText('#servers tbody tr[data-server=fx]', 'ready');
    });

    it('search shows what search_tools returns, with scores; Try fills the invoke form', async () => {
      await page.type('#query', 'echo back the arguments');
      await page.click('#search-form button');
      await waitForText('#results tbody', 'echo');
      const first = await page.$$eval('#results tbody tr:first-child td', (tds) => tds.map((td) => (td as HTMLElement).innerText));
      expect(first.slice(1, 3)).toEqual(['fx', 'echo']);
      expect(first[0]).toMatch(/^[01]\.\d{3}$/);
      await page.click('#results tbody tr:first-child button');
      expect(await page.$eval('#invoke-server', (node) => (node as HTMLSelectElement).value)).toBe('fx');
      expect(await page.$eval('#invoke-tool', (node) => (node as HTMLInputElement).value)).toBe('echo');
    });

    it('invoke shows the result; bad JSON is refused before sending; recent calls and usage follow', async () => {
      const answer = await invoke('fx', 'echo', '{"greeting": "hello from the dashboard"}');
      expect(answer).toMatch(/^ok in \d+ ms/);
      expect(answer).toContain('"greeting": "hello from the dashboard"');
      expect(await invoke('fx', 'echo', '{not json')).toMatch(/^The arguments are not valid JSON/);
      await waitForText('#calls tbody tr:first-child', /fx\s+echo\s+ok/);
      expect((await text('#calls tbody')).match(/echo/g)).toHaveLength(1); // the bad-JSON attempt sent nothing
      await waitForText('#usage-tools tbody', 'fx/echo');
      expect(await text('#usage-keys tbody')).toMatch(/^ops\s+1\s+0/);
      expect(await invoke('fx', 'fail_with_structure', '{}')).toMatch(/^error in \d+ ms/);
    });

    it('restart ends the backend process: the next call runs in a new one', async () => {
      const before = await pidOf();
      expect(before).toBeGreaterThan(0);
      await page.click('#servers tr[data-server=fx] button[data-op=restart]');
      await waitForText('#status', /^restart fx: done/);
      const after = await pidOf();
      expect(after).toBeGreaterThan(0);
      expect(after).not.toBe(before);
    });

    it('reloads the config and shows the result; a search reaches servers it had to start', async () => {
      await page.click('#reload');
      await waitForText('#status', 'Reload applied (added: none; removed: none; changed: none)');
      await page.type('#query', ' ');
      await page.$eval('#query', (node) => ((node as HTMLInputElement).value = 'read a generated tool value'));
      await page.click('#search-form button');
      await waitForText('#results tbody', 'tool_00');
      const shot = process.env.DASHBOARD_SCREENSHOT;
      if (shot) await page.screenshot({ path: join(repoRoot, shot) as `${string}.png`, fullPage: true });
    });
  });
});
