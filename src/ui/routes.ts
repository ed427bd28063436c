import type { Hono } from 'hono';
import type { GatewayEnv } from '../http/auth.js';
import { UI_ASSETS } from './assets.js';

/**
 * The page may load only its own script and style and talk only to its own origin; no other site may
 * frame it (clickjacking). What it does with data passes the same auth, Origin and JSON-only checks
 * as any other admin API or /mcp client.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** GET /ui (the page) and /ui/app.js, /ui/style.css. No key is needed to load them; the page asks for one. */
export function registerDashboard(app: Hono<GatewayEnv>): void {
  const serve = (name: string) => {
    const asset = UI_ASSETS[name]!;
    return new Response(asset.body, { headers: { 'Content-Type': asset.type, ...SECURITY_HEADERS } });
  };
  app.get('/ui', () => serve('index.html'));
  app.get('/ui/', () => serve('index.html'));
  for (const name of Object.keys(UI_ASSETS)) if (name !== 'index.html') app.get(`/ui/${name}`, () => serve(name));
}
