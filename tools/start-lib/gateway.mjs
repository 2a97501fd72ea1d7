// The single entry point of npm start: HTTPS (or HTTP) on one port, routing each request by path
// (deploy/routes.mjs) to the service that owns it. Requests go through http-proxy-3; upgrades of
// any protocol (WebSocket, and SPDY/3.1, which kubectl exec, attach and port-forward fall back to)
// are relayed here byte for byte: the request head as it came, then both directions piped. This
// module picks the target and answers, as JSON naming the service, when that service is not there.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import { routeFor, ROUTES } from '../../deploy/routes.mjs';
import { isDashboardPath } from './dashboard.mjs';

/**
 * Path prefixes whose requests and answers stream for as long as they last: the Kubernetes API
 * through the tunnel (watches held open for hours, logs followed, uploads, exec). The gateway, the
 * nginx configuration and the Ingress neither buffer them nor cut them short.
 */
export const STREAMING_PREFIXES = Object.freeze(['/api/v1/tunnels']);
/** Silence allowed on an ordinary request before it is given up, and on a streaming one (as nginx's proxy_read_timeout). */
export const PROXY_TIMEOUT_MS = 120_000;
export const STREAMING_TIMEOUT_MS = 3_600_000;
/** TCP keepalive on relayed upgrades, so a peer that vanished is noticed even when the session is idle. */
const KEEPALIVE_MS = 30_000;

/** True when `prefix` (a route of the table) streams. */
export function isStreaming(prefix) {
  return STREAMING_PREFIXES.includes(prefix);
}

/**
 * Creates (does not start) the gateway. `targets`: service name -> base URL (`http://127.0.0.1:8081`)
 * of the services running; a routed service missing from it answers 503. `tls`: { cert, key } for
 * HTTPS, undefined for plain HTTP. `dashboard`: the handler of every path outside /api
 * (dashboardHandler of dashboard.mjs), if any. Returns { server, listen(port, host?), close() }.
 */
export function createGateway({ targets, tls, routes = ROUTES, notRunningHint = 'it is not running here', dashboard }) {
  // xfwd: the services see X-Forwarded-For/-Proto/-Host of the original request.
  const proxy = createProxyServer({ xfwd: true });
  const relayed = new Set(); // upgraded connections, both ends, closed with the gateway
  const handler = (req, res) => {
    if (req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (dashboard && isDashboardPath(req.url)) {
      return void dashboard(req, res).catch((error) => {
        if (res.headersSent) return res.destroy();
        sendJson(res, 500, { statusCode: 500, error: 'Internal Server Error', message: `the dashboard could not be served: ${error.message}` });
      });
    }
    const route = routeFor(req.url ?? '/', routes);
    if (!route) return sendJson(res, 404, { statusCode: 404, error: 'Not Found', message: `no Flotilla API at ${pathOf(req.url)}; the API is under ${apiRoots(routes)}` });
    const target = targets[route.service];
    if (!target) return sendJson(res, 503, unavailable(503, route.service, notRunningHint));
    const proxyTimeout = isStreaming(route.prefix) ? STREAMING_TIMEOUT_MS : PROXY_TIMEOUT_MS;
    proxy.web(req, res, { target, proxyTimeout }, (error) => {
      if (res.headersSent) return res.destroy();
      sendJson(res, 502, unavailable(502, route.service, `not answering at ${target} (${error.code ?? error.message})`));
    });
  };
  // Bodies stream to the services, however long an upload takes; slow headers are still bounded (headersTimeout).
  const options = { requestTimeout: 0 };
  const server = tls ? https.createServer({ ...options, cert: tls.cert, key: tls.key }, handler) : http.createServer(options, handler);
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const route = routeFor(req.url ?? '/', routes);
    if (!route) return refuseUpgrade(socket, 404, { statusCode: 404, error: 'Not Found', message: `no Flotilla API at ${pathOf(req.url)}` });
    const target = targets[route.service];
    if (!target) return refuseUpgrade(socket, 503, unavailable(503, route.service, notRunningHint));
    relayUpgrade(req, socket, head, new URL(target), relayed, (error) => {
      refuseUpgrade(socket, 502, unavailable(502, route.service, `not answering at ${target} (${error.code ?? error.message})`));
    });
  });
  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address());
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
        // Upgraded connections are no longer the server's: end them here.
        for (const end of relayed) end.destroy();
        proxy.close?.();
      }),
  };
}

/**
 * Relays one upgrade to `target` (an http: URL): opens a TCP connection, writes the request line and
 * the headers as received (plus X-Forwarded-*), then `head` and whatever follows, both ways. The
 * service's answer, 101 or a refusal, reaches the client as the service wrote it. `refuse(error)` is
 * called when the service cannot be reached at all.
 */
function relayUpgrade(req, socket, head, target, relayed, refuse) {
  const upstream = net.connect({ host: target.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(target.port) || 80 });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    if (socket.destroyed) return upstream.destroy();
    for (const end of [socket, upstream]) {
      relayed.add(end);
      end.once('close', () => relayed.delete(end));
      end.setKeepAlive?.(true, KEEPALIVE_MS);
      end.setNoDelay?.(true);
      // An idle shell or port-forward is not a reason to hang up.
      end.setTimeout?.(0);
    }
    upstream.write(requestHead(req, socket));
    if (head?.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.on('error', (error) => {
    if (!connected) return refuse(error);
    socket.destroy();
  });
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => {
    if (connected) socket.destroy();
  });
}

/** `GET /path HTTP/1.1` and the headers as the client sent them, with X-Forwarded-* as http-proxy's xfwd adds them. */
function requestHead(req, socket) {
  const encrypted = Boolean(socket.encrypted);
  const forwarded = {
    'x-forwarded-for': socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
    'x-forwarded-port': String(socket.localPort ?? ''),
    'x-forwarded-proto': encrypted ? 'https' : 'http',
  };
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion === '1.0' ? '1.0' : '1.1'}`];
  const seen = new Set();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const lower = name.toLowerCase();
    let value = req.rawHeaders[i + 1];
    if (lower in forwarded && !seen.has(lower)) {
      value = `${value},${forwarded[lower]}`;
      seen.add(lower);
    } else if (lower === 'x-forwarded-host') {
      seen.add(lower);
    }
    lines.push(`${name}: ${value}`);
  }
  for (const [name, value] of Object.entries(forwarded)) if (!seen.has(name)) lines.push(`${name}: ${value}`);
  if (!seen.has('x-forwarded-host') && req.headers.host) lines.push(`x-forwarded-host: ${req.headers.host}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function unavailable(statusCode, service, why) {
  return { statusCode, error: statusCode === 502 ? 'Bad Gateway' : 'Service Unavailable', service, message: `${service} is ${why}` };
}

function pathOf(url = '/') {
  return url.split('?', 1)[0];
}

function apiRoots(routes) {
  return [...new Set(routes.map((r) => r.prefix.split('/').slice(0, 3).join('/')))].join(' and ');
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function refuseUpgrade(socket, status, body) {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
