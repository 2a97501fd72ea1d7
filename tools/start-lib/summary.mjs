// What the launcher tells people: where traces go, the one address (and the CA and admin token to
// use it) once everything is ready, and how to get NATS or PostgreSQL when neither answers nor can
// be started. Pure functions of their input.
import { redactUrl } from './env.mjs';

export const JAEGER_UI = 'http://localhost:16686';
export const LOCAL_COLLECTOR = { host: '127.0.0.1', port: 4318, url: 'http://localhost:4318' };

const IDS_STILL = 'trace ids are still in every answer (x-trace-id) and log line';
const HOW_TO_GET_TRACES = [
  'to see traces: docker compose up -d jaeger (or any OTLP/HTTP collector on :4318),',
  `then OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm start and open ${JAEGER_UI}`,
];

/**
 * How the services' traces are configured. `mode`:
 * - `disabled` / `off` / `console`: as the OTEL_* variables say;
 * - `explicit`: an OTLP endpoint was given;
 * - `probe`: nothing said; the caller checks whether a collector listens on localhost:4318 and
 *   calls `traceSetup(env, { collectorFound })` again.
 */
export function traceMode(env) {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return 'disabled';
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (exporters.includes('none')) return 'off';
  if (exporters.length > 0 && !exporters.includes('otlp')) return exporters.includes('console') ? 'console' : 'explicit';
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return 'explicit';
  return 'probe';
}

/**
 * The environment added to every service for tracing, and the lines for the summary. Without a
 * configured endpoint and with no collector on localhost:4318, spans are not exported
 * (OTEL_TRACES_EXPORTER=none) rather than failing exports in the background; requests, events and
 * log lines keep their trace ids.
 */
export function traceSetup(env, { collectorFound = false } = {}) {
  const mode = traceMode(env);
  switch (mode) {
    case 'disabled':
      return { env: {}, lines: ['off (OTEL_SDK_DISABLED=true)', ...HOW_TO_GET_TRACES] };
    case 'off':
      return { env: {}, lines: [`not exported (OTEL_TRACES_EXPORTER=none): ${IDS_STILL}`, ...HOW_TO_GET_TRACES] };
    case 'console':
      return { env: {}, lines: ["printed in each service's output (OTEL_TRACES_EXPORTER=console)"] };
    case 'explicit': {
      const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || LOCAL_COLLECTOR.url;
      return { env: {}, lines: [`${JAEGER_UI} (Jaeger UI, when the collector at ${redactUrl(endpoint)} is Jaeger)`] };
    }
    case 'probe':
      return collectorFound
        ? {
            env: { OTEL_EXPORTER_OTLP_ENDPOINT: LOCAL_COLLECTOR.url },
            lines: [`${JAEGER_UI} (Jaeger UI; spans go to the collector found on ${LOCAL_COLLECTOR.url})`],
          }
        : { env: { OTEL_TRACES_EXPORTER: 'none' }, lines: [`not exported (no OTLP collector answers on ${LOCAL_COLLECTOR.url}): ${IDS_STILL}`, ...HOW_TO_GET_TRACES] };
    default:
      throw new Error(`unhandled trace mode ${String(mode)}`);
  }
}

/** `host` as it goes in a URL people click: 127.0.0.1 stays, IPv6 gets brackets. */
function urlHost(host) {
  return host.includes(':') ? `[${host}]` : host;
}

/** The entry point's base URL: `https://localhost:8443`. */
export function entryUrl({ port, tls = true, host = 'localhost' }) {
  return `${tls ? 'https' : 'http'}://${urlHost(host)}:${port}`;
}

/**
 * The block printed once every service is ready. `entry`: { url, tls: { caFile?, origin } } of the
 * one address operators use; `adminToken`: the lines about the admin token; `tunnels`: where agents
 * dial and how to register a cluster (tunnelSummary); `traces` are the lines of traceSetup; `infra` entries: { name, url, origin } where origin says who runs it ('already
 * running' or 'started by npm start, data in .data/nats'). Each service's own port is listed for
 * /metrics (and /healthz, /readyz); its API is reached through the entry point only.
 */
export function formatSummary({ services, entry, adminToken = [], tunnels = [], traces = [], infra = [], host = 'localhost' }) {
  const rows = [];
  if (entry) {
    rows.push(['API', `${entry.url}/api/v1/... (every service, one address; routes in deploy/routes.mjs)`]);
    rows.push(['API docs', `${entry.url}/api/docs`]);
    if (entry.dashboard) rows.push(['dashboard', `${entry.url}/ (the fleet dashboard: sign in with an API token, such as the admin token below)`]);
    if (entry.tls?.caFile) rows.push(['TLS', `${entry.tls.caFile} is the CA to trust (${entry.tls.origin}): curl --cacert, or import it in a browser`]);
    else if (entry.tls) rows.push(['TLS', `certificate from ${entry.tls.origin}`]);
  }
  adminToken.forEach((line, i) => rows.push([i === 0 ? 'admin token' : '', line]));
  tunnels.forEach((line, i) => rows.push([i === 0 ? 'tunnels' : '', line]));
  const nameWidth = Math.max(...services.map((s) => s.name.length));
  services.forEach((s, i) => rows.push([i === 0 ? 'metrics' : '', `${s.name.padEnd(nameWidth)}  http://${urlHost(host)}:${s.port}/metrics`]));
  traces.forEach((line, i) => rows.push([i === 0 ? 'traces' : '', line]));
  for (const item of infra) rows.push([item.name, `${redactUrl(item.url)} (${item.origin})`]);
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const plural = services.length === 1 ? 'service' : 'services';
  return [
    `Flotilla is up at ${entry?.url ?? 'the services\' own ports'}: ${services.length} ${plural} ready.`,
    ...rows.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${value}`.trimEnd()),
    'Ctrl-C stops everything.',
  ].join('\n');
}

/**
 * Why NATS or PostgreSQL cannot be used and what to do. `kind` is 'nats' or 'postgres'; `reason`
 * is 'not-installed' (nothing answers, nothing to start), 'remote' (nothing answers at an address
 * that is not this machine) or the error of a server that answers but fails the check.
 */
export function missingMessage(kind, { url, reason }) {
  const what = kind === 'nats' ? 'NATS (with JetStream)' : 'PostgreSQL';
  const variable = kind === 'nats' ? 'NATS_URL' : 'DATABASE_URL';
  const pkg = kind === 'nats' ? 'nats-server' : 'postgresql';
  const started = kind === 'nats' ? 'nats-server -js with its data in .data/nats' : 'initdb + postgres with its data in .data/postgres';
  const compose = '  - or run the whole system in containers: docker compose up --build';
  if (reason !== 'not-installed' && reason !== 'remote') {
    const check =
      kind === 'nats'
        ? '  - check NATS_URL; the server must run with JetStream enabled (nats-server -js)'
        : '  - check DATABASE_URL: user, password, host, port (the database itself is created when missing)';
    return [`${what} at ${redactUrl(url)} answers but cannot be used: ${reason}.`, 'Any of these fixes it:', check, `  - point ${variable} at another server`, compose].join('\n');
  }
  const why =
    reason === 'not-installed'
      ? `nothing answers at ${redactUrl(url)} and no ${kind === 'nats' ? 'nats-server' : 'PostgreSQL server (postgres + initdb)'} is installed`
      : `nothing answers at ${redactUrl(url)}, and npm start only starts ${what} itself for an address on this machine`;
  return [
    `Cannot use ${what}: ${why}.`,
    'Any of these fixes it:',
    `  - install it: sudo apt-get install ${pkg}   (npm start then runs ${started})`,
    `  - start your own and point ${variable} at it`,
    compose,
  ].join('\n');
}
