// The launcher as a process, in a throw-away checkout whose services are small stand-ins (an HTTP
// server with /readyz), against the machine's NATS and PostgreSQL, and once with nats-server and
// PostgreSQL it starts itself. Run: node --test tools/test/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findNatsServer, findPostgres } from '../start-lib/binaries.mjs';
import { tcpAnswers } from '../start-lib/infra.mjs';
import https from 'node:https';

const repo = resolve(fileURLToPath(import.meta.url), '../../..');
const requireFromLibs = createRequire(join(repo, 'libs/messaging/package.json'));
const roots = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const FAKE_SERVICE = `
import http from 'node:http';
const name = process.env.FLOTILLA_SERVICE;
let ready = false;
setTimeout(() => { ready = true; }, 200);
const server = http.createServer((req, res) => {
  res.statusCode = req.url === '/readyz' && !ready ? 503 : 200;
  res.end(req.url);
});
server.listen(Number(process.env.PORT), () => {
  const { PORT, NATS_URL, DATABASE_URL, BUS_PREFIX, FLOTILLA_SERVICE, OTEL_TRACES_EXPORTER } = process.env;
  console.log('env ' + JSON.stringify({ PORT, NATS_URL, DATABASE_URL, BUS_PREFIX, FLOTILLA_SERVICE, OTEL_TRACES_EXPORTER }));
  const { TUNNEL_AGENT_PORT, TUNNEL_AGENT_ADDRESS, TUNNEL_REPLICA_URL, REGISTRATION_TUNNEL_URL, REGISTRATION_TUNNEL_CA_FILE, TUNNEL_BROKER_URL, TUNNEL_BROKER_CA_FILE } = process.env;
  console.log('tunnel ' + JSON.stringify({ TUNNEL_AGENT_PORT, TUNNEL_AGENT_ADDRESS, TUNNEL_REPLICA_URL, REGISTRATION_TUNNEL_URL, REGISTRATION_TUNNEL_CA_FILE, TUNNEL_BROKER_URL, TUNNEL_BROKER_CA_FILE }));
  if (process.env.FAKE_CRASH === name) setTimeout(() => process.exit(3), 800);
});
process.on('SIGTERM', () => { console.log('got SIGTERM'); server.close(() => process.exit(0)); });
`;

// The inventory's token CLI: records how it was called, prints a token valid for an hour.
const FAKE_TOKEN_CLI = `
import { writeFileSync } from 'node:fs';
writeFileSync('token-cli-call.json', JSON.stringify({ args: process.argv.slice(2), DATABASE_URL: process.env.DATABASE_URL, FLOTILLA_SERVICE: process.env.FLOTILLA_SERVICE }));
const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
console.log([part({ alg: 'EdDSA' }), part({ sub: 'local-admin', exp: Math.floor(Date.now() / 1000) + 3600 }), 'sig'].join('.'));
`;

/** The directory of an installed package, found from its entry point. */
function packageDir(name) {
  let dir = dirname(requireFromLibs.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name) dir = dirname(dir);
  return dir;
}

/** A checkout with tools/start.mjs, the route table, the packages it loads, a no-op telemetry register and fake services (and the token CLI). */
function fakeCheckout(services, { tokenCli = false } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-start-'));
  roots.push(root);
  chmodSync(root, 0o755); // the postgres user must be able to enter it when we run as root
  cpSync(join(repo, 'tools/start.mjs'), join(root, 'tools/start.mjs'));
  cpSync(join(repo, 'tools/start-lib'), join(root, 'tools/start-lib'), { recursive: true });
  cpSync(join(repo, 'deploy/routes.mjs'), join(root, 'deploy/routes.mjs'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fake', private: true, type: 'module' }));
  for (const name of ['pg', '@nats-io/transport-node', '@nats-io/jetstream', 'http-proxy-3', '@peculiar/x509', 'reflect-metadata']) {
    mkdirSync(dirname(join(root, 'node_modules', name)), { recursive: true });
    symlinkSync(packageDir(name), join(root, 'node_modules', name));
  }
  const telemetry = join(root, 'node_modules/@flotilla/telemetry');
  mkdirSync(telemetry, { recursive: true });
  writeFileSync(join(telemetry, 'package.json'), JSON.stringify({ name: '@flotilla/telemetry', type: 'module', exports: { './register': './register.js' } }));
  writeFileSync(join(telemetry, 'register.js'), '');
  for (const name of services) {
    mkdirSync(join(root, 'services', name, 'dist/src'), { recursive: true });
    writeFileSync(join(root, 'services', name, 'package.json'), JSON.stringify({ name: `@fake/${name}`, type: 'module' }));
    writeFileSync(join(root, 'services', name, 'dist/src/main.js'), FAKE_SERVICE);
  }
  if (tokenCli) {
    mkdirSync(join(root, 'services/inventory/dist/src/cli'), { recursive: true });
    writeFileSync(join(root, 'services/inventory/dist/src/cli/tokens.js'), FAKE_TOKEN_CLI);
  }
  return root;
}

/** `count` distinct free ports: every listener stays open until all are chosen, so none is handed out twice. */
async function freePorts(count) {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** GET over HTTPS, trusting only `ca`. */
function httpsGet(url, ca) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      })
      .on('error', reject);
  });
}

/** Runs `node tools/start.mjs` in `root`; `until(regex)` waits for it in stdout + stderr. */
function runLauncher(root, args, env) {
  const child = spawn(process.execPath, ['tools/start.mjs', '--no-build', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = [];
  const onData = (chunk) => {
    output += chunk;
    for (const waiter of [...waiters]) if (waiter.regex.test(output)) waiter.resolve(output);
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exit,
    output: () => output,
    until(regex, timeoutMs = 30_000) {
      if (regex.test(output)) return Promise.resolve(output);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${regex}; output so far:\n${output}`)), timeoutMs);
        waiters.push({ regex, resolve: (text) => (clearTimeout(timer), resolve(text)) });
        void exit.then(() => setTimeout(() => reject(new Error(`launcher exited before ${regex}; output:\n${output}`)), 200));
      });
    },
  };
}

/** Ends a launcher still running after a failed assertion: SIGTERM so it stops its children, then SIGKILL. */
async function stop(launcher) {
  if (launcher.child.exitCode !== null || launcher.child.signalCode !== null) return;
  launcher.child.kill('SIGTERM');
  const timer = setTimeout(() => launcher.child.kill('SIGKILL'), 40_000);
  await launcher.exit;
  clearTimeout(timer);
}

async function pgQuery(url, sql, values) {
  const pg = requireFromLibs('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

const machineInfra = (await tcpAnswers('127.0.0.1', 4222)) && (await tcpAnswers('127.0.0.1', 5432));

describe('npm start as a process', { timeout: 120_000 }, () => {
  it('runs the named services against the machine NATS and PostgreSQL, creates the database, and stops on SIGTERM', { skip: !machineInfra && 'no NATS/PostgreSQL on 127.0.0.1' }, async () => {
    const root = fakeCheckout(['inventory', 'importer'], { tokenCli: true });
    const [inventoryPort, importerPort, gatewayPort] = await freePorts(3);
    const database = `flotilla_start_test_${process.pid}`;
    const launcher = runLauncher(root, ['inventory', 'importer'], {
      INVENTORY_PORT: String(inventoryPort),
      IMPORTER_PORT: String(importerPort),
      FLOTILLA_PORT: String(gatewayPort),
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      BUS_PREFIX: 'starttest',
    });
    try {
      const output = await launcher.until(/Ctrl-C stops everything\./);
      assert.match(output, /NATS nats:\/\/127\.0\.0\.1:4222: JetStream ok \(already running\)/);
      assert.match(output, new RegExp(`created database ${database}`));
      assert.match(output, new RegExp(`Flotilla is up at https://localhost:${gatewayPort}: 2 services ready\\.`));
      assert.match(output, new RegExp(`API +https://localhost:${gatewayPort}/api/v1/`));
      assert.match(output, new RegExp(`importer +http://localhost:${importerPort}/metrics`));
      assert.match(output, /TLS: development CA \.data\/tls\/ca\.crt \(new\)/);

      // The one address: HTTPS under the development CA, routed by path to each service.
      const ca = readFileSync(join(root, '.data/tls/ca.crt'));
      assert.deepEqual(await httpsGet(`https://localhost:${gatewayPort}/api/v1/clusters?limit=1`, ca), { status: 200, text: '/api/v1/clusters?limit=1' });
      assert.deepEqual(await httpsGet(`https://127.0.0.1:${gatewayPort}/api/v1/imports/i-1`, ca), { status: 200, text: '/api/v1/imports/i-1' });
      const notRunning = await httpsGet(`https://localhost:${gatewayPort}/api/v1/tunnels`, ca);
      assert.equal(notRunning.status, 503);
      assert.equal(JSON.parse(notRunning.text).service, 'tunnel-broker');

      // The admin token, made by the inventory's CLI with the inventory's environment.
      assert.match(output, /admin token: made, in \.data\/admin-token \(0600\)/);
      assert.match(output, new RegExp(`curl --cacert \\.data/tls/ca\\.crt -H "Authorization: Bearer \\$FLOTILLA_TOKEN" https://localhost:${gatewayPort}/api/v1/clusters`));
      assert.equal(statSync(join(root, '.data/admin-token')).mode & 0o777, 0o600);
      assert.deepEqual(JSON.parse(readFileSync(join(root, 'token-cli-call.json'), 'utf8')), {
        args: ['create', '--subject', 'local-admin', '--role', 'admin', '--expires-in', '90d'],
        DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
        FLOTILLA_SERVICE: 'inventory',
      });
      const envLine = /^inventory +│ env (.*)$/m.exec(output);
      assert.ok(envLine, 'inventory output is prefixed with its name');
      const env = JSON.parse(envLine[1]);
      assert.deepEqual(
        { ...env, OTEL_TRACES_EXPORTER: undefined },
        {
          PORT: String(inventoryPort),
          NATS_URL: 'nats://127.0.0.1:4222',
          DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
          BUS_PREFIX: 'starttest',
          FLOTILLA_SERVICE: 'inventory',
          OTEL_TRACES_EXPORTER: undefined,
        },
      );
      const found = await pgQuery('postgres://postgres@127.0.0.1:5432/postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      assert.equal(found.rowCount, 1);

      launcher.child.kill('SIGTERM');
      assert.deepEqual(await launcher.exit, { code: 0, signal: null });
      assert.match(launcher.output(), /^inventory +│ got SIGTERM$/m);
      assert.match(launcher.output(), /^importer +│ got SIGTERM$/m);
      assert.equal(await tcpAnswers('127.0.0.1', inventoryPort), false);
      assert.equal(await tcpAnswers('127.0.0.1', gatewayPort), false, 'the entry point is closed too');
    } finally {
      await stop(launcher);
      await pgQuery('postgres://postgres@127.0.0.1:5432/postgres', `DROP DATABASE IF EXISTS ${database}`).catch(() => {});
    }
  });

  it('stops everything with a non-zero exit when a service exits on its own', { skip: !machineInfra && 'no NATS/PostgreSQL on 127.0.0.1' }, async () => {
    const root = fakeCheckout(['inventory', 'importer']);
    const [inventoryPort, importerPort, gatewayPort] = await freePorts(3);
    const launcher = runLauncher(root, ['inventory', 'importer'], {
      INVENTORY_PORT: String(inventoryPort),
      IMPORTER_PORT: String(importerPort),
      FLOTILLA_PORT: String(gatewayPort),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      FAKE_CRASH: 'importer',
    });
    try {
      assert.deepEqual(await launcher.exit, { code: 1, signal: null });
      assert.match(launcher.output(), /importer exited unexpectedly \(exit code 3\); stopping everything/);
      assert.match(launcher.output(), /^inventory +│ got SIGTERM$/m);
    } finally {
      await stop(launcher);
    }
  });

  it('wires register mode: the broker listens for agents at this machine, the importer hands out the entry point and reaches the broker through it', { skip: !machineInfra && 'no NATS/PostgreSQL on 127.0.0.1' }, async () => {
    const root = fakeCheckout(['importer', 'tunnel-broker']);
    const [importerPort, brokerPort, gatewayPort, agentPort] = await freePorts(4);
    const launcher = runLauncher(root, ['importer', 'tunnel-broker'], {
      IMPORTER_PORT: String(importerPort),
      TUNNEL_BROKER_PORT: String(brokerPort),
      FLOTILLA_PORT: String(gatewayPort),
      FLOTILLA_TUNNEL_AGENT_PORT: String(agentPort),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      // A name of this machine, as agents would reach it.
      FLOTILLA_TUNNEL_AGENT_ADDRESS: `flotilla-test.lan:${agentPort}`,
    });
    try {
      const output = await launcher.until(/Ctrl-C stops everything\./);
      const tunnelEnv = (service) => JSON.parse(new RegExp(`^${service} +│ tunnel (.*)$`, 'm').exec(output)[1]);
      assert.deepEqual(tunnelEnv('tunnel-broker'), {
        TUNNEL_AGENT_PORT: String(agentPort),
        TUNNEL_AGENT_ADDRESS: `flotilla-test.lan:${agentPort}`,
        TUNNEL_REPLICA_URL: `http://127.0.0.1:${brokerPort}`,
      });
      const caFile = join(root, '.data/tls/ca.crt');
      assert.deepEqual(tunnelEnv('importer'), {
        REGISTRATION_TUNNEL_URL: `https://flotilla-test.lan:${gatewayPort}`,
        TUNNEL_BROKER_URL: `https://127.0.0.1:${gatewayPort}`,
        TUNNEL_BROKER_CA_FILE: caFile,
        REGISTRATION_TUNNEL_CA_FILE: caFile,
      });
      // The entry point's certificate names the host agents enroll at.
      const { X509Certificate } = await import('node:crypto');
      assert.ok(new X509Certificate(readFileSync(join(root, '.data/tls/server.crt'))).checkHost('flotilla-test.lan'));
      // The importer's way to the broker answers, under the CA it is given.
      assert.deepEqual(await httpsGet(`https://127.0.0.1:${gatewayPort}/api/v1/tunnels/c-1/k8s/version`, readFileSync(caFile)), { status: 200, text: '/api/v1/tunnels/c-1/k8s/version' });
      assert.match(output, new RegExp(`tunnels: agents dial flotilla-test\\.lan:${agentPort}; they enroll at https://flotilla-test\\.lan:${gatewayPort}`));
      assert.match(output, new RegExp(`tunnels +agents dial flotilla-test\\.lan:${agentPort} \\(port ${agentPort} here;`));
      assert.match(output, new RegExp(`register a cluster: curl --cacert \\.data/tls/ca\\.crt .*-d '\\{"clusterName":"edge"\\}' https://localhost:${gatewayPort}/api/v1/registrations`));
      launcher.child.kill('SIGTERM');
      assert.deepEqual(await launcher.exit, { code: 0, signal: null });
    } finally {
      await stop(launcher);
    }
  });

  it('stops when the agents\' port it is told to use is taken, or a tunnel variable is bad, naming the variable', async () => {
    const root = fakeCheckout(['tunnel-broker']);
    const busy = net.createServer();
    await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const [brokerPort, gatewayPort] = await freePorts(2);
      const taken = runLauncher(root, ['tunnel-broker'], { TUNNEL_BROKER_PORT: String(brokerPort), FLOTILLA_PORT: String(gatewayPort), FLOTILLA_TUNNEL_AGENT_PORT: String(busy.address().port) });
      assert.deepEqual(await taken.exit, { code: 1, signal: null });
      assert.match(taken.output(), new RegExp(`port ${busy.address().port} for the tunnel agents is already in use .*set FLOTILLA_TUNNEL_AGENT_PORT`));
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
    const bad = runLauncher(root, ['tunnel-broker'], { FLOTILLA_TUNNEL_AGENT_ADDRESS: 'https://flotilla.lan' });
    assert.deepEqual(await bad.exit, { code: 1, signal: null });
    assert.match(bad.output(), /FLOTILLA_TUNNEL_AGENT_ADDRESS=https:\/\/flotilla\.lan is not host:port/);
  });

  it('names the services missing from the checkout', async () => {
    const root = fakeCheckout(['inventory']);
    const launcher = runLauncher(root, [], {});
    assert.deepEqual(await launcher.exit, { code: 1, signal: null });
    assert.match(launcher.output(), /not in this checkout yet: services\/provisioner, services\/importer, services\/upgrade-planner, services\/tunnel-broker/);
    assert.match(launcher.output(), /npm start -- inventory/);
  });

  const nats = findNatsServer({ pathEnv: process.env.PATH });
  const postgres = findPostgres({ pathEnv: process.env.PATH });
  it('starts nats-server and PostgreSQL itself under .data/ when nothing answers, and stops them after the services', { skip: !(nats && postgres) && 'nats-server or PostgreSQL is not installed' }, async () => {
    const root = fakeCheckout(['inventory']);
    const [natsPort, pgPort, inventoryPort, gatewayPort] = await freePorts(4);
    const launcher = runLauncher(root, ['inventory'], {
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/flotilla`,
      INVENTORY_PORT: String(inventoryPort),
      FLOTILLA_PORT: String(gatewayPort),
    });
    try {
      const output = await launcher.until(/Ctrl-C stops everything\./, 60_000);
      assert.match(output, /warning: no admin token \(\.data\/admin-token is missing\): services\/inventory\/dist\/src\/cli\/tokens\.js is not built/);
      assert.match(output, /starting .*nats-server with JetStream \(store: \.data\/nats\)/);
      assert.match(output, /initialising a PostgreSQL \S+ cluster in \.data\/postgres/);
      assert.match(output, /created database flotilla/);
      assert.match(output, /NATS +nats:\/\/127\.0\.0\.1:\d+ \(started by npm start, data in \.data\/nats\)/);
      assert.ok(existsSync(join(root, '.data/nats/jetstream')));
      assert.ok(existsSync(join(root, '.data/postgres/PG_VERSION')));
      if (process.getuid?.() === 0) {
        assert.notEqual(statSync(join(root, '.data/postgres')).uid, 0, 'as root, PostgreSQL runs as another user');
        assert.match(output, /as the \S+ user \(postgres refuses root\)/);
      }

      launcher.child.kill('SIGINT');
      assert.deepEqual(await launcher.exit, { code: 0, signal: null });
      const after = launcher.output();
      assert.ok(after.indexOf('got SIGTERM') < after.indexOf('stopping postgres'), 'services stop before PostgreSQL');
      assert.ok(after.indexOf('stopping postgres') < after.indexOf('stopping nats'), 'PostgreSQL stops before NATS');
      assert.equal(await tcpAnswers('127.0.0.1', natsPort), false);
      assert.equal(await tcpAnswers('127.0.0.1', pgPort), false);
      assert.equal(existsSync(join(root, '.data/postgres/postmaster.pid')), false, 'PostgreSQL shut down cleanly');
    } finally {
      await stop(launcher);
    }
  });
});
