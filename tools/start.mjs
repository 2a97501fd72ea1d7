#!/usr/bin/env node
// `npm start`: the whole of Flotilla on this machine. Builds the workspace, finds (or starts)
// NATS with JetStream and PostgreSQL, creates the database, runs the five services as separate
// processes with their output prefixed, waits until each one is ready, then serves every API on
// one HTTPS address (FLOTILLA_PORT, routes in deploy/routes.mjs; a development CA under .data/tls),
// makes an admin token when there is none and prints where to look. Register mode is wired: the
// tunnel broker listens for agents (FLOTILLA_TUNNEL_AGENT_PORT, 8091) at an address of this
// machine, and the importer hands out the entry point as where agents enroll and reaches the
// broker through it.
// Ctrl-C (or SIGTERM) stops the entry point and the services, then whatever it started itself.
//
// Usage: npm start [-- [--no-build] [service ...]]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { portVariable, redactUrl, resolveSettings, SERVICES, serviceEnv } from './start-lib/env.mjs';
import { describeExit, ensureNats, ensurePostgres, LaunchError, localSecretsKeys, tcpAnswers, waitFor, workspaceRequire } from './start-lib/infra.mjs';
import { adminTokenUsage, ensureAdminToken } from './start-lib/admin-token.mjs';
import { buildDashboard, DASHBOARD_BUILD, dashboardHandler, traceViewerUrl } from './start-lib/dashboard.mjs';
import { createGateway } from './start-lib/gateway.mjs';
import { formatPrefix, useColour } from './start-lib/lines.mjs';
import { createLauncher, killNow, stopProcess } from './start-lib/processes.mjs';
import { entryUrl, formatSummary, LOCAL_COLLECTOR, traceMode, traceSetup } from './start-lib/summary.mjs';
import { certificateCovers, resolveTls } from './start-lib/tls.mjs';
import { machineAddress, tunnelSummary, tunnelWiring } from './start-lib/tunnel.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const dataRoot = join(root, '.data');
const READY_TIMEOUT_MS = Number(process.env.FLOTILLA_READY_TIMEOUT_MS) || 120_000;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm start [-- [--no-build] [service ...]]

Runs ${SERVICES.map((s) => s.name).join(', ')} (or the ones named) against
NATS_URL (default nats://127.0.0.1:4222) and DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/flotilla), starting nats-server / PostgreSQL under .data/
when nothing answers there. Every API on one address: https://localhost:FLOTILLA_PORT
(default 8443) with a development CA made under .data/tls, or FLOTILLA_TLS_CERT_FILE and
FLOTILLA_TLS_KEY_FILE; FLOTILLA_TLS=off for plain HTTP. Per-service ports (health, metrics):
INVENTORY_PORT, PROVISIONER_PORT, ...; FLOTILLA_READY_TIMEOUT_MS (default 120000) bounds the
wait for every /readyz. An admin token is kept in .data/admin-token.
The fleet dashboard is served at / (built with vite; FLOTILLA_TRACE_VIEWER_URL, e.g.
http://localhost:16686/trace/{traceId}, links its trace ids to a trace viewer).
Tunnel agents dial FLOTILLA_TUNNEL_AGENT_ADDRESS (default: this machine's address and
FLOTILLA_TUNNEL_AGENT_PORT, 8091) and enroll at FLOTILLA_REGISTRATION_TUNNEL_URL (default: the
entry point at that address).`);
  process.exit(0);
}
const build = !args.includes('--no-build');
const names = args.filter((a) => !a.startsWith('-'));

const colour = useColour(process.stdout, process.env);
const width = Math.max(...[...SERVICES.map((s) => s.name), 'postgres', 'nats', 'start'].map((n) => n.length));
const ownPrefix = formatPrefix('start', { width, colour: colour ? 1 : undefined });
const log = (message) => process.stdout.write(message.split('\n').map((line) => `${ownPrefix}${line}\n`).join(''));
const fail = (message) => process.stderr.write(message.split('\n').map((line) => `${ownPrefix}${line}\n`).join(''));

const { launch, handles } = createLauncher({ cwd: root, env: process.env, width, colour });
const infra = []; // handles of what we started ourselves, in start order
const services = []; // { service, handle }
let gateway; // the one entry point, once the services are ready
let stopping; // the shutdown under way

/** Stops the services, then what we started ourselves, and exits with `code`. Runs once. */
function shutdown(code, reason) {
  stopping ??= (async () => {
    if (reason) (code === 0 ? log : fail)(reason);
    await gateway?.close();
    await Promise.all(services.map(({ handle }) => stopProcess(handle)));
    for (const handle of [...infra].reverse()) {
      if (!handle.exited) log(`stopping ${handle.label}`);
      await stopProcess(handle);
    }
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) {
      // A second Ctrl-C: no more waiting.
      fail(`${signal} again: killing everything`);
      for (const handle of handles) killNow(handle);
      process.exit(130);
    }
    void shutdown(0, `${signal}: stopping`);
  });
}
// Last resort if the launcher itself dies: leave no orphans behind.
process.on('exit', () => {
  for (const handle of handles) killNow(handle);
});

try {
  await main();
} catch (error) {
  await shutdown(1, error instanceof LaunchError ? error.message : (error?.stack ?? String(error)));
}

async function main() {
  let settings;
  try {
    settings = resolveSettings(process.env, names);
  } catch (error) {
    throw new LaunchError(error.message);
  }

  // 1. The services exist and are built.
  const missing = settings.services.filter((s) => !existsSync(join(root, 'services', s.name, 'package.json')));
  if (missing.length > 0) {
    throw new LaunchError(
      `not in this checkout yet: ${missing.map((s) => `services/${s.name}`).join(', ')}. ` +
        `Name the services to run instead, e.g. npm start -- ${settings.services.filter((s) => !missing.includes(s)).map((s) => s.name).join(' ') || 'inventory'}`,
    );
  }
  if (build) buildWorkspace(settings.services);
  const unbuilt = settings.services.filter((s) => !existsSync(entryPoint(s)));
  if (unbuilt.length > 0) {
    throw new LaunchError(`no entry point ${unbuilt.map((s) => relative(root, entryPoint(s))).join(', ')} (a service compiles src/main.ts to dist/src/main.js)`);
  }

  // 2. Their ports, and the entry point's, are free.
  for (const s of settings.services) {
    if (await tcpAnswers('127.0.0.1', s.port, 500)) {
      throw new LaunchError(`port ${s.port} for ${s.name} is already in use (another npm start?). Stop that, or set ${portVariable(s.name)}.`);
    }
  }
  if (await tcpAnswers('127.0.0.1', settings.gateway.port, 500)) {
    throw new LaunchError(`port ${settings.gateway.port} for the entry point is already in use (another npm start?). Stop that, or set FLOTILLA_PORT.`);
  }
  const broker = settings.services.find((s) => s.name === 'tunnel-broker');
  let agentPort = settings.tunnel.agentPort;
  if (broker && (await tcpAnswers('127.0.0.1', agentPort, 500))) {
    if (settings.tunnel.agentPortFromEnv) {
      throw new LaunchError(`port ${agentPort} for the tunnel agents is already in use (another npm start?). Stop that, or set FLOTILLA_TUNNEL_AGENT_PORT.`);
    }
    agentPort = await freePort(new Set(settings.services.map((s) => s.port).concat(settings.gateway.port)));
    log(`port ${settings.tunnel.agentPort} for the tunnel agents is in use: they get ${agentPort} (FLOTILLA_TUNNEL_AGENT_PORT chooses)`);
  }
  // Where agents in other clusters reach this machine; the entry point's certificate names it.
  const machineHost = machineAddress(networkInterfaces());
  const publicHosts = [...new Set([settings.tunnel.agentAddress?.host ?? machineHost, settings.tunnel.registrationUrl && new URL(settings.tunnel.registrationUrl).hostname].filter(Boolean))];

  // 3. NATS and PostgreSQL.
  const requireFn = workspaceRequire(root);
  const context = { settings, requireFn, dataRoot, log, launch: (...a) => track(launch(...a)) };
  const nats = await ensureNats(context);
  log(`NATS ${redactUrl(settings.natsUrl)}: JetStream ok (${nats.origin})`);
  const postgres = await ensurePostgres(context);
  log(`PostgreSQL ${redactUrl(settings.databaseUrl)}: SELECT 1 ok (${postgres.origin})`);

  // Secrets (SSH keys, cluster credentials) are sealed under these keys; never printed.
  const secrets = localSecretsKeys(process.env, dataRoot);
  settings.secretsKeys = secrets.keys;
  log(`secrets: key-encryption keys from ${secrets.origin}`);

  // The entry point's certificate: the files given, or the development CA under .data/tls.
  let tls;
  if (settings.gateway.tls) {
    try {
      tls = await resolveTls(process.env, join(dataRoot, 'tls'), { names: publicHosts });
    } catch (error) {
      throw new LaunchError(`TLS: ${error.message}`);
    }
    log(`TLS: ${tls.caFile ? `development CA ${relative(root, tls.caFile)} (${tls.origin})` : tls.origin}`);
    const unnamed = tls.caFile ? [] : publicHosts.filter((host) => !covers(tls.cert, host));
    if (broker && unnamed.length > 0) fail(`warning: the certificate of FLOTILLA_TLS_CERT_FILE does not name ${unnamed.join(', ')}, where tunnel agents enroll`);
  }

  // Register mode: the broker's agents' listener and where agents enroll.
  const wiring = tunnelWiring({
    settings,
    agentPort,
    machineHost,
    brokerPort: broker?.port,
    tls: tls && { caFile: tls.caFile, covers: (host) => covers(tls.cert, host) },
  });
  if (broker) {
    log(`tunnels: agents dial ${wiring.agentAddress}; ${wiring.importerWired ? `they enroll at ${wiring.registrationUrl}` : `registering clusters is not wired: ${wiring.why}`}`);
  }

  // 4. Traces.
  const collectorFound = traceMode(process.env) === 'probe' && (await tcpAnswers(LOCAL_COLLECTOR.host, LOCAL_COLLECTOR.port, 500));
  const traces = traceSetup(process.env, { collectorFound });

  // 5. The services.
  const started = Date.now();
  const envs = new Map();
  for (const service of settings.services) {
    // Kubeconfigs of connected clusters name the entry point (the request's origin) and trust the development CA.
    const publicCa = service.name === 'importer' && tls?.caFile ? { FLOTILLA_PUBLIC_CA_FILE: tls.caFile } : {};
    const env = { ...serviceEnv(process.env, settings, service, traces.env), ...wiring.env[service.name], ...publicCa };
    envs.set(service.name, env);
    const handle = launch(service.name, process.execPath, ['--enable-source-maps', '--import', '@flotilla/telemetry/register', relative(root, entryPoint(service))], {
      env,
      // A service drains for up to SHUTDOWN_TIMEOUT_MS (20 s by default) after SIGTERM.
      stopTimeoutMs: (Number(env.SHUTDOWN_TIMEOUT_MS) || 20_000) + 5_000,
    });
    services.push({ service, handle });
    void handle.exit.then((exit) => {
      if (!stopping) void shutdown(1, `${service.name} exited unexpectedly (${describeExit(exit)}); stopping everything`);
    });
  }
  log(`started ${settings.services.map((s) => s.name).join(', ')}; waiting for /readyz`);
  await Promise.all(
    services.map(async ({ service, handle }) => {
      await waitFor(`${service.name} (http://127.0.0.1:${service.port}/readyz)`, handle, () => isReady(service.port), READY_TIMEOUT_MS);
      log(`${service.name} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }),
  );
  if (stopping) return;

  // 6. One address for every API, and the fleet dashboard at its root.
  let traceViewer;
  try {
    traceViewer = traceViewerUrl(process.env, traces);
  } catch (error) {
    throw new LaunchError(error.message);
  }
  const dashboard = dashboardHandler({ dir: join(root, DASHBOARD_BUILD), config: traceViewer ? { traceViewerUrl: traceViewer } : {} });
  if (!dashboard) fail(`warning: no dashboard at / (${DASHBOARD_BUILD} is not built: npm start without --no-build builds it)`);
  gateway = createGateway({
    targets: Object.fromEntries(settings.services.map((s) => [s.name, `http://127.0.0.1:${s.port}`])),
    tls: tls && { cert: tls.cert, key: tls.key },
    notRunningHint: 'not started by this npm start (it runs only the services named after --)',
    dashboard,
  });
  try {
    await gateway.listen(settings.gateway.port);
  } catch (error) {
    throw new LaunchError(`the entry point cannot listen on port ${settings.gateway.port}: ${error.message}. Set FLOTILLA_PORT.`);
  }
  const url = entryUrl({ port: settings.gateway.port, tls: tls !== undefined });

  // 7. An admin token, made by the inventory's token CLI with the inventory's environment.
  const inventory = settings.services.find((s) => s.name === 'inventory');
  const adminToken = inventory ? await adminTokenLines(envs.get('inventory'), url, tls?.caFile, `http://127.0.0.1:${inventory.port}`) : [];
  if (stopping) return;

  log(
    formatSummary({
      services: settings.services,
      entry: { url, tls: tls && { caFile: tls.caFile && relative(root, tls.caFile), origin: tls.origin }, dashboard: Boolean(dashboard) },
      adminToken,
      tunnels: tunnelSummary({ wiring, entryUrl: url, caFile: tls?.caFile && relative(root, tls.caFile), agentPort }),
      traces: traces.lines,
      infra: [
        { name: 'NATS', url: settings.natsUrl, origin: nats.origin },
        { name: 'PostgreSQL', url: settings.databaseUrl, origin: postgres.origin },
      ],
    }),
  );
}

/** Keeps .data/admin-token good and says how to use it; a token that cannot be made is a warning, not a failure. */
async function adminTokenLines(env, url, caFile, inventoryUrl) {
  // A kept token the inventory refuses (a reset database, another key ring, a revocation) is made again.
  const accepts = async (token) => {
    const response = await fetch(`${inventoryUrl}/api/v1/tokens?expired=false`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    return response?.status !== 401 && response?.status !== 403;
  };
  const result = await ensureAdminToken({ root, dataRoot, env, accepts });
  const usage = adminTokenUsage({ file: result.file, root, baseUrl: url, caFile });
  const path = relative(root, result.file);
  switch (result.status) {
    case 'kept':
      return [`${path} (kept; made again once it expires)`, ...usage];
    case 'created':
      log(`admin token: ${result.reason === 'missing' ? 'made' : `made again (the old one was ${result.reason})`}, in ${path} (0600)`);
      return [`${path} (new)`, ...usage];
    case 'no-cli':
    case 'failed':
      fail(`warning: no admin token (${path} is ${result.reason}): ${result.message}`);
      return [`none: ${result.message}`];
    default:
      throw new Error(`unhandled admin token status ${String(result.status)}`);
  }
}

function track(handle) {
  infra.push(handle);
  void handle.exit.then((exit) => {
    // Past start-up, losing NATS or PostgreSQL that we run is fatal for the session.
    if (!stopping && services.length > 0) void shutdown(1, `${handle.label} exited unexpectedly (${describeExit(exit)}); stopping everything`);
  });
  return handle;
}

/** Whether a PEM certificate names `host`; an unreadable one names nothing. */
function covers(cert, host) {
  try {
    return certificateCovers(cert, host);
  } catch {
    return false;
  }
}

/** A TCP port free on this machine now, other than those in `taken`. */
async function freePort(taken) {
  for (;;) {
    const server = net.createServer();
    await new Promise((resolve, reject) => server.once('error', reject).listen(0, resolve));
    const { port } = server.address();
    await new Promise((resolve) => server.close(resolve));
    if (!taken.has(port)) return port;
  }
}

function entryPoint(service) {
  return join(root, 'services', service.name, 'dist', 'src', 'main.js');
}

function buildWorkspace(selected) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) throw new LaunchError('TypeScript is not installed: run npm ci first');
  // The root tsconfig references every project; naming the services too builds one that is not
  // referenced yet. tsc -b is incremental: up-to-date projects are skipped.
  const projects = ['tsconfig.json', ...selected.map((s) => `services/${s.name}/tsconfig.json`).filter((p) => existsSync(join(root, p)))];
  log(`building: tsc -b ${projects.join(' ')}`);
  const result = spawnSync(process.execPath, [tsc, '-b', ...projects], { cwd: root, stdio: 'inherit' });
  if (result.signal) throw new LaunchError(`the build was interrupted (${result.signal})`);
  if (result.status !== 0) throw new LaunchError(`the build failed (tsc exit ${result.status}); fix the errors above`);
  log('building the dashboard: vite build');
  const failure = buildDashboard(root);
  if (failure) throw new LaunchError(failure);
}

async function isReady(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

