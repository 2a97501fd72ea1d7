// Unit tests of the launcher's pure helpers (tools/start-lib). Run: node --test tools/test/
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findExecutable, findNatsServer, findPostgres, postgresCandidateDirs, postgresMajor, sortVersionsDesc } from '../start-lib/binaries.mjs';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  DEFAULT_TUNNEL_AGENT_PORT,
  isLoopback,
  parseDatabaseUrl,
  parseNatsUrl,
  portVariable,
  quoteIdentifier,
  redactUrl,
  resolveSettings,
  resolveTunnelSettings,
  schemaName,
  selectServices,
  serviceEnv,
  SERVICES,
  withDatabase,
} from '../start-lib/env.mjs';
import { colourFor, createLineSplitter, formatPrefix, pipePrefixed, prefixLines, useColour } from '../start-lib/lines.mjs';
import { ancestors, canTraverse, findPasswdEntry, firstUntraversable, userNameOf } from '../start-lib/posix.mjs';
import { entryUrl, formatSummary, missingMessage, traceMode, traceSetup } from '../start-lib/summary.mjs';
import { hostForPort, machineAddress, tunnelSummary, tunnelWiring } from '../start-lib/tunnel.mjs';
import { PassThrough } from 'node:stream';

describe('settings from the environment', () => {
  it('defaults to the machine NATS and PostgreSQL, the flotilla prefix and the five services on 8080-8084', () => {
    const settings = resolveSettings({});
    assert.equal(settings.natsUrl, DEFAULT_NATS_URL);
    assert.equal(settings.databaseUrl, DEFAULT_DATABASE_URL);
    assert.equal(settings.natsFromEnv, false);
    assert.equal(settings.databaseFromEnv, false);
    assert.deepEqual(settings.nats, [{ host: '127.0.0.1', port: 4222 }]);
    assert.deepEqual(settings.database, { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'flotilla' });
    assert.equal(settings.busPrefix, 'flotilla');
    assert.equal(settings.logLevel, undefined);
    assert.deepEqual(settings.gateway, { port: 8443, tls: true });
    assert.deepEqual(
      settings.services.map((s) => [s.name, s.port, s.schema]),
      [
        ['inventory', 8080, 'inventory'],
        ['provisioner', 8081, 'provisioner'],
        ['importer', 8082, 'importer'],
        ['upgrade-planner', 8083, 'upgrade_planner'],
        ['tunnel-broker', 8084, 'tunnel_broker'],
      ],
    );
  });

  it('takes NATS_URL, DATABASE_URL, BUS_PREFIX, LOG_LEVEL and per-service ports; blank means unset', () => {
    const settings = resolveSettings({
      NATS_URL: 'nats://bus:4333',
      DATABASE_URL: 'postgresql://app:secret@db.internal:6543/fleet',
      BUS_PREFIX: 'dev',
      LOG_LEVEL: 'debug',
      UPGRADE_PLANNER_PORT: '9093',
      INVENTORY_PORT: ' ',
    });
    assert.equal(settings.natsFromEnv, true);
    assert.deepEqual(settings.nats, [{ host: 'bus', port: 4333 }]);
    assert.deepEqual(settings.database, { host: 'db.internal', port: 6543, user: 'app', database: 'fleet' });
    assert.equal(settings.busPrefix, 'dev');
    assert.equal(settings.logLevel, 'debug');
    assert.equal(settings.services.find((s) => s.name === 'upgrade-planner').port, 9093);
    assert.equal(settings.services.find((s) => s.name === 'inventory').port, 8080);
    assert.equal(resolveSettings({ NATS_URL: '' }).natsUrl, DEFAULT_NATS_URL);
  });

  it('refuses bad ports and two services on one port', () => {
    assert.throws(() => resolveSettings({ IMPORTER_PORT: '70000' }), /IMPORTER_PORT=70000 is not a TCP port/);
    assert.throws(() => resolveSettings({ IMPORTER_PORT: 'http' }), /not a TCP port/);
    assert.throws(() => resolveSettings({ IMPORTER_PORT: '8080' }), /inventory and importer|importer and inventory/);
    assert.throws(() => resolveSettings({ FLOTILLA_PORT: '8082' }), /importer and the entry point \(FLOTILLA_PORT\) would both listen on port 8082/);
    assert.throws(() => resolveSettings({ FLOTILLA_PORT: '0' }), /FLOTILLA_PORT=0 is not a TCP port/);
  });

  it('takes the entry point port from FLOTILLA_PORT and plain HTTP from FLOTILLA_TLS=off', () => {
    assert.deepEqual(resolveSettings({ FLOTILLA_PORT: '9443' }).gateway, { port: 9443, tls: true });
    assert.deepEqual(resolveSettings({ FLOTILLA_TLS: 'OFF' }).gateway, { port: 8443, tls: false });
    assert.throws(() => resolveSettings({ FLOTILLA_TLS: 'maybe' }), /FLOTILLA_TLS=maybe: use on \(the default\) or off/);
  });

  it('selects services by name, in start order, and names unknown ones', () => {
    assert.deepEqual(
      selectServices(['tunnel-broker', 'inventory']).map((s) => s.name),
      ['inventory', 'tunnel-broker'],
    );
    assert.equal(selectServices([]).length, 5);
    assert.throws(() => selectServices(['inventory', 'billing']), /unknown service billing: choose from inventory, provisioner/);
  });

  it('names port variables and schemas after the service', () => {
    assert.equal(portVariable('upgrade-planner'), 'UPGRADE_PLANNER_PORT');
    assert.equal(schemaName('tunnel-broker'), 'tunnel_broker');
    assert.deepEqual(
      SERVICES.map((s) => s.name),
      ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'],
    );
  });

  it('parses NATS server lists, with or without scheme and port', () => {
    assert.deepEqual(parseNatsUrl('nats://a:1, b ,tls://[::1]:5'), [
      { host: 'a', port: 1 },
      { host: 'b', port: 4222 },
      { host: '::1', port: 5 },
    ]);
    assert.throws(() => parseNatsUrl(' , '), /NATS_URL is empty/);
  });

  it('parses database URLs and says what is wrong with bad ones', () => {
    assert.deepEqual(parseDatabaseUrl('postgres://localhost/x%20y'), { host: 'localhost', port: 5432, user: 'postgres', database: 'x y' });
    assert.throws(() => parseDatabaseUrl('mysql://h/db'), /must start with postgres:\/\//);
    assert.throws(() => parseDatabaseUrl('postgres://h:5432'), /names no database/);
    assert.throws(() => parseDatabaseUrl('not a url'), /not a URL/);
  });

  it('switches databases, redacts passwords, quotes identifiers, knows loopback', () => {
    assert.equal(withDatabase('postgres://u:p@h:1/app?sslmode=disable', 'postgres'), 'postgres://u:p@h:1/postgres?sslmode=disable');
    assert.equal(redactUrl('postgres://u:s3cret@h/db'), 'postgres://u:***@h/db');
    assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
    assert.equal(quoteIdentifier('we"ird'), '"we""ird"');
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1']) assert.equal(isLoopback(host), true, host);
    for (const host of ['db', '10.0.0.1', '0.0.0.0', '127.0.0.1.example']) assert.equal(isLoopback(host), false, host);
  });

  it("gives each service the contract's variables over the launcher's own environment", () => {
    const settings = resolveSettings({ LOG_LEVEL: 'warn' }, ['upgrade-planner']);
    const base = { PATH: '/bin', PORT: '3000', INVENTORY_PORT: '9999', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', NATS_URL: 'ignored' };
    const env = serviceEnv(base, settings, settings.services[0], { OTEL_TRACES_EXPORTER: 'none' });
    assert.equal(env.FLOTILLA_SERVICE, 'upgrade-planner');
    assert.equal(env.PORT, '8083');
    assert.equal(env.NATS_URL, DEFAULT_NATS_URL);
    assert.equal(env.DATABASE_URL, DEFAULT_DATABASE_URL);
    assert.equal(env.BUS_PREFIX, 'flotilla');
    assert.equal(env.LOG_LEVEL, 'warn');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://c:4318');
    assert.equal(env.OTEL_TRACES_EXPORTER, 'none');
    assert.equal(env.INVENTORY_PORT, undefined);
    assert.equal(base.PORT, '3000', 'the base environment is not modified');
  });
});

describe('register mode of a local run', () => {
  const interfaces = (entries) => Object.fromEntries(entries.map(([name, address, extra = {}]) => [name, [{ address, family: address.includes(':') ? 'IPv6' : 'IPv4', internal: name === 'lo', ...extra }]]));

  it('listens for agents on 8091 and lets FLOTILLA_TUNNEL_AGENT_PORT, _ADDRESS and FLOTILLA_REGISTRATION_TUNNEL_URL say otherwise', () => {
    assert.equal(DEFAULT_TUNNEL_AGENT_PORT, 8091);
    assert.deepEqual(resolveSettings({}).tunnel, { agentPort: 8091, agentPortFromEnv: false, agentAddress: undefined, registrationUrl: undefined });
    assert.deepEqual(
      resolveTunnelSettings({ FLOTILLA_TUNNEL_AGENT_PORT: '9091', FLOTILLA_TUNNEL_AGENT_ADDRESS: 'flotilla.lan:443', FLOTILLA_REGISTRATION_TUNNEL_URL: 'https://flotilla.example.com/' }),
      { agentPort: 9091, agentPortFromEnv: true, agentAddress: { host: 'flotilla.lan', port: 443, text: 'flotilla.lan:443' }, registrationUrl: 'https://flotilla.example.com' },
    );
    assert.deepEqual(resolveTunnelSettings({ FLOTILLA_TUNNEL_AGENT_ADDRESS: '[fd00::5]:8091' }).agentAddress, { host: 'fd00::5', port: 8091, text: '[fd00::5]:8091' });
    assert.equal(resolveTunnelSettings({ FLOTILLA_TUNNEL_AGENT_PORT: ' ' }).agentPortFromEnv, false, 'blank means unset');
  });

  it('stops on a bad value, naming the variable', () => {
    assert.throws(() => resolveSettings({ FLOTILLA_TUNNEL_AGENT_PORT: 'tunnel' }), /FLOTILLA_TUNNEL_AGENT_PORT=tunnel is not a TCP port/);
    assert.throws(() => resolveSettings({ FLOTILLA_TUNNEL_AGENT_PORT: '8084' }), /the tunnel agents' port \(FLOTILLA_TUNNEL_AGENT_PORT\) and tunnel-broker would both listen on port 8084/);
    assert.throws(() => resolveSettings({ FLOTILLA_TUNNEL_AGENT_PORT: '8443' }), /FLOTILLA_TUNNEL_AGENT_PORT.*the entry point \(FLOTILLA_PORT\)/);
    assert.equal(resolveSettings({ FLOTILLA_TUNNEL_AGENT_PORT: '8084' }, ['inventory']).tunnel.agentPort, 8084, 'no clash without the broker');
    for (const address of ['flotilla.lan', 'https://flotilla.lan:8091', 'flotilla.lan:99999', 'a b:1']) {
      assert.throws(() => resolveSettings({ FLOTILLA_TUNNEL_AGENT_ADDRESS: address }), /FLOTILLA_TUNNEL_AGENT_ADDRESS=.* is not host:port/, address);
    }
    assert.throws(() => resolveSettings({ FLOTILLA_REGISTRATION_TUNNEL_URL: 'http://flotilla.lan:8443' }), /FLOTILLA_REGISTRATION_TUNNEL_URL must be an https:\/\/ URL/);
    assert.throws(() => resolveSettings({ FLOTILLA_REGISTRATION_TUNNEL_URL: 'flotilla.lan' }), /FLOTILLA_REGISTRATION_TUNNEL_URL=flotilla\.lan is not a URL/);
    assert.throws(() => resolveSettings({ FLOTILLA_REGISTRATION_TUNNEL_URL: 'https://u:p@flotilla.lan' }), /FLOTILLA_REGISTRATION_TUNNEL_URL must be a plain https:\/\/ URL/);
  });

  it("takes this machine's address from an ordinary interface, then any external one, else loopback", () => {
    assert.equal(machineAddress(interfaces([['lo', '127.0.0.1'], ['docker0', '172.17.0.1'], ['eth0', '192.168.1.20']])), '192.168.1.20');
    assert.equal(machineAddress(interfaces([['lo', '127.0.0.1'], ['br-1a2b', '172.18.0.1']])), '172.18.0.1');
    assert.equal(machineAddress(interfaces([['lo', '127.0.0.1'], ['eth0', 'fe80::1']])), '127.0.0.1', 'IPv4 only: the listener is bound to 0.0.0.0');
    assert.equal(machineAddress({}), '127.0.0.1');
    assert.equal(hostForPort('fd00::5'), '[fd00::5]');
  });

  const devTls = { caFile: '/r/.data/tls/ca.crt', covers: () => true };

  it('gives the broker the agents\' port and address, and the importer the entry point to hand out and to reach the broker through', () => {
    const settings = resolveSettings({ FLOTILLA_PORT: '9443' });
    const wiring = tunnelWiring({ settings, agentPort: 8091, machineHost: '192.168.1.20', brokerPort: 8084, tls: devTls });
    assert.deepEqual(wiring.env['tunnel-broker'], { TUNNEL_AGENT_PORT: '8091', TUNNEL_AGENT_ADDRESS: '192.168.1.20:8091', TUNNEL_REPLICA_URL: 'http://127.0.0.1:8084' });
    assert.deepEqual(wiring.env.importer, {
      REGISTRATION_TUNNEL_URL: 'https://192.168.1.20:9443',
      TUNNEL_BROKER_URL: 'https://127.0.0.1:9443',
      TUNNEL_BROKER_CA_FILE: '/r/.data/tls/ca.crt',
      REGISTRATION_TUNNEL_CA_FILE: '/r/.data/tls/ca.crt',
    });
    assert.deepEqual([wiring.publicHost, wiring.importerWired], ['192.168.1.20', true]);
    assert.equal(wiring.env.inventory, undefined, 'the other services get nothing');
  });

  it('follows FLOTILLA_TUNNEL_AGENT_ADDRESS and FLOTILLA_REGISTRATION_TUNNEL_URL, and a port picked instead of a taken 8091', () => {
    const named = tunnelWiring({ settings: resolveSettings({ FLOTILLA_TUNNEL_AGENT_ADDRESS: 'flotilla.lan:443' }), agentPort: 8091, machineHost: '10.0.0.2', brokerPort: 8084, tls: devTls });
    assert.equal(named.env['tunnel-broker'].TUNNEL_AGENT_ADDRESS, 'flotilla.lan:443');
    assert.equal(named.env.importer.REGISTRATION_TUNNEL_URL, 'https://flotilla.lan:8443', 'agents enroll at the same host');
    const moved = tunnelWiring({ settings: resolveSettings({ FLOTILLA_REGISTRATION_TUNNEL_URL: 'https://flotilla.example.com' }), agentPort: 40123, machineHost: '10.0.0.2', brokerPort: 8084, tls: devTls });
    assert.deepEqual([moved.env['tunnel-broker'].TUNNEL_AGENT_PORT, moved.env['tunnel-broker'].TUNNEL_AGENT_ADDRESS], ['40123', '10.0.0.2:40123']);
    assert.equal(moved.env.importer.REGISTRATION_TUNNEL_URL, 'https://flotilla.example.com');
  });

  it('with certificates of its own, reaches the broker by a name they carry and trusts the system CAs', () => {
    const settings = resolveSettings({});
    const publicOnly = tunnelWiring({ settings, agentPort: 8091, machineHost: '10.0.0.2', brokerPort: 8084, tls: { covers: (host) => host === '10.0.0.2' } });
    assert.deepEqual(publicOnly.env.importer, { REGISTRATION_TUNNEL_URL: 'https://10.0.0.2:8443', TUNNEL_BROKER_URL: 'https://10.0.0.2:8443' });
    const local = tunnelWiring({ settings, agentPort: 8091, machineHost: '10.0.0.2', brokerPort: 8084, tls: { covers: (host) => host === 'localhost' } });
    assert.equal(local.env.importer.TUNNEL_BROKER_URL, 'https://localhost:8443');
  });

  it('leaves the importer unwired without HTTPS or without the broker, and says why', () => {
    const plain = tunnelWiring({ settings: resolveSettings({ FLOTILLA_TLS: 'off' }), agentPort: 8091, machineHost: '10.0.0.2', brokerPort: 8084, tls: undefined });
    assert.equal(plain.env.importer, undefined);
    assert.ok(plain.env['tunnel-broker'], 'the broker still listens for agents');
    assert.match(plain.why, /HTTPS \(FLOTILLA_TLS=off now\)/);
    const alone = tunnelWiring({ settings: resolveSettings({}, ['inventory', 'importer']), agentPort: 8091, machineHost: '10.0.0.2', brokerPort: undefined, tls: devTls });
    assert.deepEqual(alone.env, {});
    assert.match(alone.why, /the tunnel broker is not running here/);
  });

  it('tells where agents dial and how to register a cluster, in one curl line', () => {
    const wiring = tunnelWiring({ settings: resolveSettings({}), agentPort: 8091, machineHost: '192.168.1.20', brokerPort: 8084, tls: devTls });
    const lines = tunnelSummary({ wiring, entryUrl: 'https://localhost:8443', caFile: '.data/tls/ca.crt', agentPort: 8091 });
    assert.match(lines[0], /^agents dial 192\.168\.1\.20:8091 \(port 8091 here; mutual TLS/);
    assert.match(lines[1], /^they enroll at https:\/\/192\.168\.1\.20:8443 \(the agent must trust \.data\/tls\/ca\.crt/);
    assert.equal(
      lines[2],
      `register a cluster: curl --cacert .data/tls/ca.crt -H "Authorization: Bearer $FLOTILLA_TOKEN" -H 'content-type: application/json' -d '{"clusterName":"edge"}' https://localhost:8443/api/v1/registrations`,
    );
    assert.match(lines[3], /jq -r \.manifest \| kubectl apply -f -/);
    const text = formatSummary({ services: resolveSettings({}).services, entry: { url: 'https://localhost:8443' }, tunnels: lines });
    assert.match(text, /\n {2}tunnels {3}agents dial 192\.168\.1\.20:8091 .*\n {12}they enroll at/);
    const unwired = tunnelWiring({ settings: resolveSettings({ FLOTILLA_TLS: 'off' }), agentPort: 8091, machineHost: '10.0.0.2', brokerPort: 8084, tls: undefined });
    assert.deepEqual(tunnelSummary({ wiring: unwired, entryUrl: 'http://localhost:8443', agentPort: 8091 }).slice(1), ['registering clusters: not wired, it needs the entry point on HTTPS (FLOTILLA_TLS=off now)']);
    const noBroker = tunnelWiring({ settings: resolveSettings({}, ['inventory']), agentPort: 8091, machineHost: '10.0.0.2', tls: devTls });
    assert.deepEqual(tunnelSummary({ wiring: noBroker, entryUrl: 'https://localhost:8443', agentPort: 8091 }), []);
  });
});

describe('finding nats-server and PostgreSQL', () => {
  const fakeFs = (executables, dirs = {}) => ({
    isExecutable: (path) => executables.includes(path),
    listDir: (dir) => dirs[dir] ?? [],
  });

  it('finds an executable in the first directory that has it', () => {
    const fs = fakeFs(['/b/tool', '/c/tool']);
    assert.equal(findExecutable('tool', ['/a', '/b', '/c'], fs), '/b/tool');
    assert.equal(findExecutable('other', ['/a', '/b'], fs), undefined);
  });

  it('looks for nats-server on PATH, then in the sbin directories (Debian puts it in /usr/sbin)', () => {
    assert.equal(findNatsServer({ pathEnv: '/usr/bin:/bin', fs: fakeFs(['/usr/sbin/nats-server']) }), '/usr/sbin/nats-server');
    assert.equal(findNatsServer({ pathEnv: '/opt/nats:/usr/bin', fs: fakeFs(['/usr/sbin/nats-server', '/opt/nats/nats-server']) }), '/opt/nats/nats-server');
    assert.equal(findNatsServer({ pathEnv: '/usr/bin', fs: fakeFs([]) }), undefined);
  });

  it('orders versions newest first', () => {
    assert.deepEqual(sortVersionsDesc(['9.6', '15', '16', '13', '9.5']), ['16', '15', '13', '9.6', '9.5']);
  });

  it('searches PATH, then Debian, Red Hat and Homebrew directories, newest first', () => {
    const fs = fakeFs([], {
      '/usr/lib/postgresql': ['13', '15', 'README'],
      '/usr': ['bin', 'pgsql-16'],
      '/opt/homebrew/opt': ['postgresql@14', 'node'],
    });
    assert.deepEqual(postgresCandidateDirs({ pathEnv: '/usr/local/bin', fs }), [
      '/usr/local/bin',
      '/usr/lib/postgresql/15/bin',
      '/usr/lib/postgresql/13/bin',
      '/usr/pgsql-16/bin',
      '/opt/homebrew/opt/postgresql@14/bin',
    ]);
  });

  it('takes postgres and initdb from one directory, which Debian keeps off PATH', () => {
    const dirs = { '/usr/lib/postgresql': ['15', '16'] };
    // 16 has only the client tools installed: skipped.
    const fs = fakeFs(['/usr/lib/postgresql/16/bin/postgres', '/usr/lib/postgresql/15/bin/postgres', '/usr/lib/postgresql/15/bin/initdb', '/usr/lib/postgresql/15/bin/pg_ctl'], dirs);
    assert.deepEqual(findPostgres({ pathEnv: '/usr/bin', fs }), {
      dir: '/usr/lib/postgresql/15/bin',
      postgres: '/usr/lib/postgresql/15/bin/postgres',
      initdb: '/usr/lib/postgresql/15/bin/initdb',
      pgCtl: '/usr/lib/postgresql/15/bin/pg_ctl',
    });
    assert.equal(findPostgres({ pathEnv: '/usr/bin', fs: fakeFs(['/usr/bin/postgres']) }), undefined);
  });

  it('reads the major version from postgres --version', () => {
    assert.equal(postgresMajor('postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)'), '15');
    assert.equal(postgresMajor('postgres (PostgreSQL) 9.6.24'), '9.6');
    assert.equal(postgresMajor('something else'), undefined);
  });
});

describe('prefixed output', () => {
  it('splits chunks into lines, whatever the chunk boundaries', () => {
    const splitter = createLineSplitter();
    assert.deepEqual(splitter.push('one\ntw'), ['one']);
    assert.deepEqual(splitter.push('o\r\nthree\n\nfo'), ['two', 'three', '']);
    assert.deepEqual(splitter.end(), ['fo']);
    assert.deepEqual(splitter.end(), []);
  });

  it('keeps a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('état ✓\n');
    const splitter = createLineSplitter();
    const cut = bytes.indexOf(0xe2) + 1; // inside the three bytes of ✓
    assert.deepEqual(splitter.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(splitter.push(bytes.subarray(cut)), ['état ✓']);
  });

  it('pads the label, colours it only when asked, and prefixes every line', () => {
    assert.equal(formatPrefix('nats', { width: 8 }), 'nats     │ ');
    assert.equal(formatPrefix('nats', { width: 8, colour: 36 }), '\x1b[36mnats     │ \x1b[0m');
    assert.equal(prefixLines(['a', 'b'], '> '), '> a\n> b\n');
    assert.notEqual(colourFor(0), colourFor(1));
    assert.equal(colourFor(3, { dim: true }), colourFor(0, { dim: true }));
  });

  it('colours a TTY unless NO_COLOR; FORCE_COLOR decides when set', () => {
    assert.equal(useColour({ isTTY: true }, {}), true);
    assert.equal(useColour({ isTTY: false }, {}), false);
    assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(useColour({ isTTY: false }, { FORCE_COLOR: '1' }), true);
    assert.equal(useColour({ isTTY: true }, { FORCE_COLOR: '0' }), false);
  });

  it('pipes a stream with the prefix, hiding lines it is told to and showing every line to onLine', async () => {
    const stream = new PassThrough();
    let written = '';
    const seen = [];
    pipePrefixed(stream, 'pg │ ', (text) => (written += text), { onLine: (line) => seen.push(line), hide: (line) => line.includes('LOG:') });
    stream.write('LOG:  starting\nFATAL:  bad');
    stream.end('\nlast');
    await new Promise((resolve) => stream.on('end', resolve));
    assert.equal(written, 'pg │ FATAL:  bad\npg │ last\n');
    assert.deepEqual(seen, ['LOG:  starting', 'FATAL:  bad', 'last']);
  });
});

describe('traces', () => {
  it('follows the OTEL_* variables when they say something', () => {
    assert.equal(traceMode({}), 'probe');
    assert.equal(traceMode({ OTEL_SDK_DISABLED: 'TRUE' }), 'disabled');
    assert.equal(traceMode({ OTEL_TRACES_EXPORTER: 'none' }), 'off');
    assert.equal(traceMode({ OTEL_TRACES_EXPORTER: 'console' }), 'console');
    assert.equal(traceMode({ OTEL_TRACES_EXPORTER: 'otlp' }), 'probe');
    assert.equal(traceMode({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }), 'explicit');
    assert.equal(traceMode({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' }), 'explicit');
  });

  it('points at Jaeger when an endpoint is set and adds nothing to the environment', () => {
    const setup = traceSetup({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' });
    assert.deepEqual(setup.env, {});
    assert.match(setup.lines[0], /^http:\/\/localhost:16686 \(Jaeger UI, when the collector at http:\/\/localhost:4318 is Jaeger\)$/);
  });

  it('uses a collector found on localhost:4318, and otherwise exports nothing (ids stay) and says how to get traces', () => {
    const found = traceSetup({}, { collectorFound: true });
    assert.deepEqual(found.env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' });
    assert.match(found.lines[0], /16686/);
    const none = traceSetup({}, { collectorFound: false });
    assert.deepEqual(none.env, { OTEL_TRACES_EXPORTER: 'none' });
    assert.match(none.lines.join(' '), /not exported .*x-trace-id.*docker compose up -d jaeger.*OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/localhost:4318 npm start/);
  });

  it('says so when tracing is off or printed', () => {
    assert.match(traceSetup({ OTEL_SDK_DISABLED: 'true' }).lines[0], /off \(OTEL_SDK_DISABLED=true\)/);
    assert.match(traceSetup({ OTEL_TRACES_EXPORTER: 'none' }).lines[0], /not exported \(OTEL_TRACES_EXPORTER=none\): trace ids are still/);
    assert.match(traceSetup({ OTEL_TRACES_EXPORTER: 'console' }).lines[0], /printed/);
  });
});

describe('the summary', () => {
  const services = resolveSettings({}).services;

  it('lists the one address, its docs, the CA, the admin token, every metrics URL, traces and where NATS and PostgreSQL come from', () => {
    const url = entryUrl({ port: 8443 });
    assert.equal(url, 'https://localhost:8443');
    assert.equal(entryUrl({ port: 80, tls: false, host: '::1' }), 'http://[::1]:80');
    const text = formatSummary({
      services,
      entry: { url, tls: { caFile: '.data/tls/ca.crt', origin: 'new' } },
      adminToken: ['.data/admin-token (new)', 'export FLOTILLA_TOKEN=$(cat .data/admin-token)'],
      traces: ['off', 'hint'],
      infra: [
        { name: 'NATS', url: 'nats://127.0.0.1:4222', origin: 'already running' },
        { name: 'PostgreSQL', url: 'postgres://u:pw@127.0.0.1:5432/flotilla', origin: 'started by npm start, data in .data/postgres' },
      ],
    });
    const lines = text.split('\n');
    assert.equal(lines[0], 'Flotilla is up at https://localhost:8443: 5 services ready.');
    assert.match(text, /API {10}https:\/\/localhost:8443\/api\/v1\/\.\.\. \(every service, one address/);
    assert.match(text, /API docs {5}https:\/\/localhost:8443\/api\/docs/);
    assert.match(text, /TLS {10}\.data\/tls\/ca\.crt is the CA to trust \(new\)/);
    assert.match(text, /admin token {2}\.data\/admin-token \(new\)\n {15}export FLOTILLA_TOKEN=\$\(cat \.data\/admin-token\)/);
    for (const s of services) assert.match(text, new RegExp(`${s.name} +http://localhost:${s.port}/metrics`));
    assert.match(text, /traces {7}off\n {15}hint/);
    assert.match(text, /PostgreSQL   postgres:\/\/u:\*\*\*@127\.0\.0\.1:5432\/flotilla \(started by npm start, data in \.data\/postgres\)/);
    assert.doesNotMatch(text, /pw/);
    assert.equal(lines.at(-1), 'Ctrl-C stops everything.');
  });

  it('points at the fleet dashboard when the entry point serves it, and only then', () => {
    const entry = { url: 'https://localhost:8443', tls: { caFile: '.data/tls/ca.crt', origin: 'new' } };
    assert.match(formatSummary({ services, entry: { ...entry, dashboard: true } }), /dashboard {2}https:\/\/localhost:8443\/ \(the fleet dashboard: sign in with an API token/);
    assert.doesNotMatch(formatSummary({ services, entry }), /dashboard/);
  });

  it('names given certificate files instead of a CA, and leaves out the admin token without inventory', () => {
    const text = formatSummary({
      services: services.filter((s) => s.name === 'importer'),
      entry: { url: 'https://localhost:9443', tls: { origin: 'FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE' } },
      traces: ['off'],
    });
    assert.match(text, /TLS {7}certificate from FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE/);
    assert.doesNotMatch(text, /admin token/);
    assert.match(text, /1 service ready/);
    assert.match(text, /metrics {3}importer {2}http:\/\/localhost:8082\/metrics/);
  });
});

describe('how to get NATS or PostgreSQL', () => {
  it('says how to install, configure or containerise what is missing', () => {
    const nats = missingMessage('nats', { url: 'nats://127.0.0.1:4222', reason: 'not-installed' });
    assert.match(nats, /nothing answers at nats:\/\/127\.0\.0\.1:4222 and no nats-server is installed/);
    assert.match(nats, /apt-get install nats-server/);
    assert.match(nats, /NATS_URL/);
    assert.match(nats, /docker compose up/);
    const pg = missingMessage('postgres', { url: 'postgres://u:pw@127.0.0.1:5432/db', reason: 'not-installed' });
    assert.match(pg, /apt-get install postgresql/);
    assert.match(pg, /DATABASE_URL/);
    assert.doesNotMatch(pg, /pw/);
  });

  it('explains that only a local address is started, and passes on the error of a server that fails', () => {
    assert.match(missingMessage('postgres', { url: 'postgres://db/x', reason: 'remote' }), /only starts PostgreSQL itself for an address on this machine/);
    const failing = missingMessage('postgres', { url: 'postgres://nobody@127.0.0.1/x', reason: 'role "nobody" does not exist' });
    assert.match(failing, /answers but cannot be used: role "nobody" does not exist/);
    assert.match(failing, /check DATABASE_URL/);
    assert.doesNotMatch(failing, /apt-get/);
    assert.match(missingMessage('nats', { url: 'nats://x', reason: 'JetStream is not enabled' }), /nats-server -js/);
  });
});

describe('running PostgreSQL as another user', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n';

  it('reads users from /etc/passwd', () => {
    assert.deepEqual(findPasswdEntry(passwd, 'postgres'), { name: 'postgres', uid: 101, gid: 104, home: '/var/lib/postgresql' });
    assert.equal(findPasswdEntry(passwd, 'nobody'), undefined);
    assert.equal(userNameOf(passwd, 101), 'postgres');
    assert.equal(userNameOf(passwd, 5), undefined);
  });

  it('checks that every directory down to the data directory can be entered', () => {
    const user = { uid: 101, groups: [104] };
    assert.equal(canTraverse({ mode: 0o40755, uid: 0, gid: 0 }, user), true);
    assert.equal(canTraverse({ mode: 0o40700, uid: 0, gid: 0 }, user), false);
    assert.equal(canTraverse({ mode: 0o40710, uid: 0, gid: 104 }, user), true);
    assert.equal(canTraverse({ mode: 0o40607, uid: 101, gid: 0 }, user), false, 'the owner bits decide for the owner');
    assert.deepEqual(ancestors('/root/src/flotilla/.data/postgres'), ['/', '/root', '/root/src', '/root/src/flotilla', '/root/src/flotilla/.data', '/root/src/flotilla/.data/postgres']);
    const chain = [
      { path: '/', stat: { mode: 0o755, uid: 0, gid: 0 } },
      { path: '/root', stat: { mode: 0o700, uid: 0, gid: 0 } },
      { path: '/root/x', stat: { mode: 0o755, uid: 0, gid: 0 } },
    ];
    assert.equal(firstUntraversable(chain, user), '/root');
    assert.equal(firstUntraversable(chain.slice(0, 1), user), undefined);
  });
});

describe('key-encryption keys of a local run', () => {
  it('takes SECRETS_KEYS when set, else makes one key (0600) and reuses it on the next start', async () => {
    const { localSecretsKeys } = await import('../start-lib/infra.mjs');
    const { mkdtempSync, statSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-keys-'));
    try {
      assert.deepEqual(localSecretsKeys({ SECRETS_KEYS: ' k1:abc ' }, dir), { keys: 'k1:abc', origin: 'SECRETS_KEYS' });
      const first = localSecretsKeys({}, join(dir, 'data'));
      assert.match(first.keys, /^local-\d{4}-\d{2}-\d{2}:[A-Za-z0-9+/]{43}=$/);
      assert.equal(statSync(join(dir, 'data', 'secrets-keys')).mode & 0o777, 0o600);
      assert.equal(localSecretsKeys({ SECRETS_KEYS: '' }, join(dir, 'data')).keys, first.keys);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
