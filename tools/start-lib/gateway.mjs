// The single entry point of npm start: HTTPS (or HTTP) on one port, routing each request by path
// (deploy/routes.mjs) to the service that owns it, WebSocket upgrades included. The proxying is
// http-proxy-3's; this module only picks the target and answers, as JSON naming the service, when
// that service is not there.
import http from 'node:http';
import https from 'node:https';
import { createProxyServer } from 'http-proxy-3';
import { routeFor, ROUTES } from '../../deploy/routes.mjs';

/**
 * Creates (does not start) the gateway. `targets`: service name -> base URL (`http://127.0.0.1:8081`)
 * of the services running; a routed service missing from it answers 503. `tls`: { cert, key } for
 * HTTPS, undefined for plain HTTP. Returns { server, listen(port, host?), close() }.
 */
export function createGateway({ targets, tls, routes = ROUTES, notRunningHint = 'it is not running here' }) {
  // xfwd: the services see X-Forwarded-For/-Proto/-Host of the original request.
  const proxy = createProxyServer({ xfwd: true, proxyTimeout: 120_000 });
  const handler = (req, res) => {
    if (req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    const route = routeFor(req.url ?? '/', routes);
    if (!route) return sendJson(res, 404, { statusCode: 404, error: 'Not Found', message: `no Flotilla API at ${pathOf(req.url)}; the API is under ${apiRoots(routes)}` });
    const target = targets[route.service];
    if (!target) return sendJson(res, 503, unavailable(503, route.service, notRunningHint));
    proxy.web(req, res, { target }, (error) => {
      if (res.headersSent) return res.destroy();
      sendJson(res, 502, unavailable(502, route.service, `not answering at ${target} (${error.code ?? error.message})`));
    });
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const route = routeFor(req.url ?? '/', routes);
    if (!route) return refuseUpgrade(socket, 404, { statusCode: 404, error: 'Not Found', message: `no Flotilla API at ${pathOf(req.url)}` });
    const target = targets[route.service];
    if (!target) return refuseUpgrade(socket, 503, unavailable(503, route.service, notRunningHint));
    proxy.ws(req, socket, head, { target }, (error) => {
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
        proxy.close?.();
      }),
  };
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
