// The fleet dashboard (clients/dashboard) at the entry point's `/`: its built files, index.html for
// the dashboard's own paths (client-side routes), and /config.json with the settings of this
// place (the trace viewer). Everything under /api stays the API's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { JAEGER_UI, traceMode } from './summary.mjs';

/**
 * The dashboard in containers: its own nginx (the Dockerfile's `dashboard` target,
 * deploy/nginx/dashboard.conf.template) behind the entry point's `/`, in compose and in the Ingress.
 */
export const DASHBOARD_SERVICE = Object.freeze({ name: 'dashboard', port: 8080 });

/** Where the dashboard is, relative to the checkout, and where `vite build` writes it. */
export const DASHBOARD_PROJECT = 'clients/dashboard';
export const DASHBOARD_BUILD = 'clients/dashboard/dist/app';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The dashboard loads only its own files and talks only to this address; it is never framed.
 * nginx's dashboard configuration sends the same.
 */
export const DASHBOARD_HEADERS = Object.freeze({
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
});

/** True for paths the dashboard answers: everything outside /api. */
export function isDashboardPath(url = '/') {
  const pathname = url.split(/[?#]/, 1)[0];
  return pathname !== '/api' && !pathname.startsWith('/api/');
}

/**
 * The trace viewer link the dashboard puts on trace ids: FLOTILLA_TRACE_VIEWER_URL (`{traceId}`
 * stands for the id), else Jaeger's UI when traces go to a collector. Throws naming the variable
 * when it is not an http(s) URL.
 */
export function traceViewerUrl(env, traces) {
  const given = env.FLOTILLA_TRACE_VIEWER_URL?.trim();
  if (given) {
    let url;
    try {
      url = new URL(given.replaceAll('{traceId}', 'TRACE'));
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) throw new Error(`FLOTILLA_TRACE_VIEWER_URL must be an http(s) URL, e.g. ${JAEGER_UI}/trace/{traceId}; it is "${given}"`);
    return given;
  }
  const exporting = traceMode(env) === 'explicit' || Boolean(traces?.env?.OTEL_EXPORTER_OTLP_ENDPOINT);
  return exporting ? `${JAEGER_UI}/trace/{traceId}` : undefined;
}

/**
 * A request handler for the dashboard's paths, or undefined when `dir` holds no build (the entry
 * point then says how to build it). `config` is served as /config.json.
 */
export function dashboardHandler({ dir, config = {} }) {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) return undefined;
  const configBody = JSON.stringify(config);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { 'content-type': TYPES['.json'], allow: 'GET, HEAD' }, JSON.stringify({ statusCode: 405, error: 'Method Not Allowed', message: `the dashboard answers GET and HEAD, not ${req.method}` }), req.method);
    }
    const pathname = safePath(req.url ?? '/');
    if (pathname === undefined) return send(res, 400, { 'content-type': TYPES['.txt'] }, 'bad path', req.method);
    if (pathname === '/config.json') return send(res, 200, { 'content-type': TYPES['.json'], 'cache-control': 'no-cache' }, configBody, req.method);
    const file = join(root, pathname);
    if (file.startsWith(root + sep) && (await isFile(file))) {
      // Vite names what it builds under assets/ by content: they never change.
      const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(res, 200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cache }, await readFile(file), req.method);
    }
    // A file that is not there is a 404; any other path is one of the dashboard's pages.
    if (extname(pathname) !== '') return send(res, 404, { 'content-type': TYPES['.txt'] }, `no file ${pathname}`, req.method);
    return send(res, 200, { 'content-type': TYPES['.html'], 'cache-control': 'no-cache' }, await readFile(join(root, 'index.html')), req.method);
  };
}

/** `vite build` of the dashboard (its type-check, `tsc -b`, runs with the workspace's). Returns an error message or undefined. */
export function buildDashboard(root, { stdio = 'inherit' } = {}) {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) return 'vite is not installed: run npm ci first';
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: join(root, DASHBOARD_PROJECT), stdio });
  if (result.signal) return `vite build was interrupted (${result.signal})`;
  return result.status === 0 ? undefined : `vite build of ${DASHBOARD_PROJECT} failed (exit ${result.status})`;
}

/** The decoded, normalised path of `url`, or undefined when it cannot name a file safely. */
function safePath(url) {
  let pathname;
  try {
    pathname = decodeURIComponent(url.split(/[?#]/, 1)[0]);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined;
  const normalised = normalize(pathname);
  return normalised.startsWith('/') ? normalised : undefined;
}

async function isFile(path) {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function send(res, status, headers, body, method) {
  res.writeHead(status, { ...DASHBOARD_HEADERS, ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}
