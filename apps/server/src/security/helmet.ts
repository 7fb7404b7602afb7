import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

type Directives = Record<string, string[]>;

/**
 * What the built web client needs, and nothing more: its own scripts and stylesheets (React sets styles
 * through the CSSOM, which style-src does not govern), the WebSocket to its own origin (CSP3's 'self'
 * matches ws:/wss: on the same host), photo previews and stored photos as blob: URLs, and the data: SVG
 * icons in its CSS. Images a model's Markdown links from elsewhere are not loaded.
 */
export const WEB_CLIENT_CSP: Directives = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
};

/** Swagger UI (`/docs`) styles its page with inline styles and draws icons from data: URLs. */
const DOCS_CSP: Directives = {
  ...WEB_CLIENT_CSP,
  'style-src': ["'self'", "'unsafe-inline'"],
};

export function cspHeaderValue(directives: Directives): string {
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

export const DOCS_CSP_HEADER = cspHeaderValue(DOCS_CSP);

/**
 * Helmet's headers on every answer Fastify gives: API, web client, docs and errors alike (its hook runs on
 * the raw response first, so a handler or error handler cannot lose them). Helmet's default
 * upgrade-insecure-requests is left out: the server is often reached over plain HTTP on a LAN or at
 * localhost, where it would send the browser to an https:// that does not exist; HSTS is ignored over HTTP.
 */
export async function registerHelmet(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: WEB_CLIENT_CSP },
  });
}

/**
 * For the few answers given before helmet's hook can run (a header block too large to parse, a URL that
 * cannot be routed): a JSON error needs only that it is never sniffed or rendered.
 */
export const RAW_ERROR_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};
