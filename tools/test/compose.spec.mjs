// Checks docker-compose.yml and the Dockerfile without Docker: the YAML parses, every reference
// resolves (depends_on targets, build targets = Dockerfile stages, named volumes), every service
// is health-checked or waits on healthy ones, ports are well-formed, and each Flotilla service
// gets the variables of the service contract, register mode is wired (the agents' port published,
// the importer through the gateway), and the tunnel agent's image is built on request. When a
// compose CLI is installed, `config -q` too.
// Run: node --test tools/test/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { DEFAULT_TUNNEL_AGENT_PORT, SERVICES } from '../start-lib/env.mjs';
import { SERVER_NAMES } from '../start-lib/tls.mjs';
import { ROUTES } from '../../deploy/routes.mjs';
import { GENERATED } from '../generate-deploy.mjs';
import { isStreaming, STREAMING_PREFIXES, STREAMING_TIMEOUT_MS } from '../start-lib/gateway.mjs';
import { DASHBOARD_SERVICE } from '../start-lib/dashboard.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
// As compose reads it: `${NAME:-default}` with its default (nothing here sets those variables).
const compose = YAML.parse(composeText.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1'), { merge: true });
const services = compose.services ?? {};
const flotilla = SERVICES.map((s) => s.name);

/** The Dockerfile as instructions ({ keyword, args, stage }), continuation lines joined. */
function parseDockerfile(text) {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const instructions = [];
  let stage;
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line);
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(match, `cannot read FROM ${args}`);
      stage = { image: match[1], name: match[2], instructions: [] };
      instructions.push({ keyword: upper, args, stage });
      continue;
    }
    const instruction = { keyword: upper, args, stage };
    instructions.push(instruction);
    stage?.instructions.push(instruction);
  }
  const stages = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.stage);
  return { instructions, stages };
}

const dockerfilePath = join(root, 'Dockerfile');
const dockerfile = existsSync(dockerfilePath) ? parseDockerfile(readFileSync(dockerfilePath, 'utf8')) : undefined;
const stageNames = new Set((dockerfile?.stages ?? []).map((s) => s.name).filter(Boolean));

const dependsOn = (service) => {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((name) => [name, { condition: 'service_started' }])) : deps;
};
const environment = (service) => {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : undefined]));
};
/** Short syntax "[ip:]host[-range]:container[-range][/proto]" or "container", or the long syntax. */
function parsePort(entry) {
  if (typeof entry === 'object' && entry !== null) return { published: entry.published === undefined ? undefined : Number(entry.published), target: Number(entry.target) };
  const match = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(?:(\d+)(?:-\d+)?:)?(\d+)(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/i.exec(String(entry));
  if (!match) return undefined;
  return { published: match[1] === undefined ? undefined : Number(match[1]), target: Number(match[2]) };
}

describe('docker-compose.yml', () => {
  it('is valid YAML, compose-spec shaped (no version key) and has the infrastructure and the five services', () => {
    const document = YAML.parseDocument(composeText, { merge: true });
    assert.deepEqual(document.errors, []);
    assert.deepEqual(document.warnings, []);
    assert.equal(compose.version, undefined, 'the compose spec has no version key');
    for (const key of Object.keys(compose)) {
      assert.ok(['services', 'volumes', 'networks', 'configs', 'secrets', 'name', 'include'].includes(key) || key.startsWith('x-'), `unknown top-level key ${key}`);
    }
    assert.deepEqual(Object.keys(services).sort(), ['dashboard', 'gateway', 'grafana', 'jaeger', 'nats', 'postgres', 'prometheus', 'tunnel-agent', ...flotilla].sort());
  });

  it('runs Prometheus and Grafana on request (profile observability) from the files of deploy/observability', () => {
    for (const name of ['prometheus', 'grafana']) assert.deepEqual(services[name].profiles, ['observability'], `${name} runs only on request`);
    const mounts = (name) => Object.fromEntries(services[name].volumes.map((v) => v.split(':')).map(([source, target]) => [target, source]));
    const prometheus = mounts('prometheus');
    assert.equal(prometheus['/etc/prometheus'], './deploy/observability/prometheus');
    const config = YAML.parse(readFileSync(join(root, 'deploy/observability/prometheus/prometheus.yml'), 'utf8'));
    assert.deepEqual(config.rule_files, ['flotilla-alerts.yaml']);
    assert.ok(existsSync(join(root, 'deploy/observability/prometheus', config.rule_files[0])), 'the alert rules are next to the configuration');
    // One job per Flotilla service, named after it, at its compose host and PORT: the rules and the dashboard use `job`.
    assert.deepEqual(
      config.scrape_configs.map((job) => [job.job_name, job.static_configs[0].targets[0]]).sort(),
      flotilla.map((name) => [name, `${name}:${services[name].environment.PORT}`]).sort(),
    );
    const grafana = mounts('grafana');
    assert.equal(grafana['/etc/grafana/provisioning'], './deploy/observability/grafana/provisioning');
    assert.equal(grafana['/var/lib/grafana/dashboards/flotilla/flotilla-dashboard.json'], './deploy/observability/grafana/flotilla-dashboard.json');
    const provider = YAML.parse(readFileSync(join(root, 'deploy/observability/grafana/provisioning/dashboards/flotilla.yaml'), 'utf8'));
    assert.equal(provider.providers[0].options.path, '/var/lib/grafana/dashboards/flotilla');
    const datasource = YAML.parse(readFileSync(join(root, 'deploy/observability/grafana/provisioning/datasources/prometheus.yaml'), 'utf8'));
    assert.equal(datasource.datasources[0].url, 'http://prometheus:9090');
  });

  it('gives every service an image or a build, and builds Flotilla services from the Dockerfile with SERVICE', () => {
    for (const [name, service] of Object.entries(services)) {
      assert.ok(service.image || service.build, `${name} has neither image nor build`);
    }
    for (const name of flotilla) {
      const build = services[name].build;
      assert.equal(typeof build, 'object', `${name} is built with options`);
      const context = resolve(root, build.context ?? '.');
      assert.ok(statSync(context).isDirectory(), `${name}: build context ${context} exists`);
      assert.ok(existsSync(join(context, build.dockerfile ?? 'Dockerfile')), `${name}: its Dockerfile exists`);
      assert.ok(stageNames.has(build.target), `${name}: build target ${build.target} is a Dockerfile stage (${[...stageNames].join(', ')})`);
      const args = Array.isArray(build.args) ? Object.fromEntries(build.args.map((a) => a.split('='))) : build.args;
      assert.equal(args?.SERVICE, name, `${name}: built with SERVICE=${name}`);
    }
  });

  it('only depends on services that exist, with known conditions', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, service] of Object.entries(services)) {
      for (const [target, options] of Object.entries(dependsOn(service))) {
        assert.ok(services[target], `${name} depends on ${target}, which is not a service`);
        assert.notEqual(target, name, `${name} depends on itself`);
        assert.ok(conditions.includes(options?.condition ?? 'service_started'), `${name} -> ${target}: condition ${options?.condition}`);
        if (options?.condition === 'service_healthy') assert.ok(services[target].healthcheck?.test, `${name} waits for ${target} to be healthy, but ${target} has no healthcheck`);
      }
    }
  });

  it('health-checks every service, or has it wait for healthy ones', () => {
    for (const [name, service] of Object.entries(services)) {
      // Images built on request (a profile), never run here: the tunnel agent's.
      if (service.profiles?.length > 0) continue;
      const test = service.healthcheck?.test;
      if (test !== undefined && service.healthcheck?.disable !== true) {
        assert.ok(Array.isArray(test) ? ['CMD', 'CMD-SHELL'].includes(test[0]) && test.length > 1 : typeof test === 'string', `${name}: healthcheck test is CMD/CMD-SHELL`);
        continue;
      }
      const deps = Object.values(dependsOn(service));
      assert.ok(deps.length > 0 && deps.every((d) => d.condition === 'service_healthy'), `${name} has no healthcheck and does not wait for healthy services`);
    }
    for (const name of flotilla) {
      const deps = dependsOn(services[name]);
      assert.equal(deps.nats?.condition, 'service_healthy', `${name} waits for a healthy NATS`);
      assert.equal(deps.postgres?.condition, 'service_healthy', `${name} waits for a healthy PostgreSQL`);
      assert.match(JSON.stringify(services[name].healthcheck.test), /\/readyz/, `${name} is healthy when /readyz says so`);
    }
  });

  it("publishes well-formed, distinct ports: the one entry point on 8443, Jaeger UI and OTLP/HTTP, the tunnel agents' port; no service's API directly", () => {
    const published = new Map();
    for (const [name, service] of Object.entries(services)) {
      for (const entry of service.ports ?? []) {
        const port = parsePort(entry);
        assert.ok(port, `${name}: port ${JSON.stringify(entry)} is not well-formed`);
        for (const value of [port.published, port.target].filter((v) => v !== undefined)) {
          assert.ok(Number.isInteger(value) && value >= 1 && value <= 65535, `${name}: ${value} is not a TCP port`);
        }
        if (port.published !== undefined) {
          assert.ok(!published.has(port.published), `host port ${port.published} is published by ${published.get(port.published)} and ${name}`);
          published.set(port.published, name);
        }
      }
    }
    assert.equal(published.get(8443), 'gateway');
    for (const name of flotilla.filter((n) => n !== 'tunnel-broker')) assert.equal(services[name].ports, undefined, `${name} is reached through the gateway only`);
    // The broker publishes its agents' listener only (mutual TLS end to end), never its API port.
    assert.deepEqual(services['tunnel-broker'].ports.map(parsePort), [{ published: DEFAULT_TUNNEL_AGENT_PORT, target: DEFAULT_TUNNEL_AGENT_PORT }]);
    assert.ok(composeText.includes('"${FLOTILLA_TUNNEL_AGENT_PORT:-8091}:8091"'), 'the published agents\' port follows FLOTILLA_TUNNEL_AGENT_PORT');
    assert.equal(published.get(16686), 'jaeger');
    assert.equal(published.get(4318), 'jaeger');
  });

  it('gives each Flotilla service the contract variables, pointing at the compose hosts', () => {
    for (const { name, port } of SERVICES) {
      const env = environment(services[name]);
      for (const variable of Object.keys(env)) assert.match(variable, /^[A-Za-z_][A-Za-z0-9_]*$/, `${name}: ${variable} is not a variable name`);
      for (const variable of ['NATS_URL', 'DATABASE_URL', 'PORT', 'BUS_PREFIX', 'FLOTILLA_SERVICE', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
        assert.ok(env[variable] !== undefined && String(env[variable]) !== '', `${name}: ${variable} is set`);
      }
      assert.equal(env.FLOTILLA_SERVICE, name);
      assert.equal(String(env.PORT), String(port), `${name} listens on its default port`);
      assert.equal(new URL(env.NATS_URL).hostname, 'nats');
      const database = new URL(env.DATABASE_URL);
      assert.equal(database.hostname, 'postgres');
      assert.equal(database.pathname, `/${environment(services.postgres).POSTGRES_DB}`, 'the database compose creates');
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
    }
    for (const [name, service] of Object.entries(services)) {
      for (const variable of Object.keys(environment(service))) assert.match(variable, /^[A-Za-z_][A-Za-z0-9_]*$/, `${name}: ${variable}`);
    }
  });

  it('wires register mode: the broker listens for agents where they dial, the importer hands out the gateway and reaches the broker through it', () => {
    const broker = environment(services['tunnel-broker']);
    assert.equal(String(broker.TUNNEL_AGENT_PORT), String(services['tunnel-broker'].ports.map(parsePort)[0].target), 'the port published is the one the broker listens on');
    assert.ok(composeText.includes('TUNNEL_AGENT_ADDRESS: ${FLOTILLA_TUNNEL_AGENT_ADDRESS:-localhost:8091}'), 'agents dial FLOTILLA_TUNNEL_AGENT_ADDRESS, localhost:8091 by default');
    assert.match(broker.TUNNEL_AGENT_ADDRESS, /^[A-Za-z0-9.-]+:\d+$/);

    const importer = environment(services.importer);
    assert.ok(composeText.includes('REGISTRATION_TUNNEL_URL: ${FLOTILLA_REGISTRATION_TUNNEL_URL:-https://localhost:8443}'), 'agents enroll at FLOTILLA_REGISTRATION_TUNNEL_URL, the published gateway by default');
    assert.equal(new URL(importer.REGISTRATION_TUNNEL_URL).protocol, 'https:');
    const brokerUrl = new URL(importer.TUNNEL_BROKER_URL);
    assert.equal(brokerUrl.protocol, 'https:', 'the importer needs https for the broker');
    assert.equal(brokerUrl.hostname, 'gateway', 'through the gateway, by its compose name');
    const conf = readFileSync(join(root, 'deploy/nginx/flotilla.conf'), 'utf8');
    assert.match(conf, new RegExp(`listen ${brokerUrl.port} ssl;`), 'on the port nginx listens on');
    assert.ok(SERVER_NAMES.dns.includes('gateway'), 'the development certificate names the gateway');
    const mounts = Object.fromEntries(services.importer.volumes.map((v) => v.split(':')).map(([source, target]) => [target, source]));
    assert.equal(mounts[importer.TUNNEL_BROKER_CA_FILE], './.data/tls/ca.crt', 'the CA of the gateway\'s certificate is mounted where TUNNEL_BROKER_CA_FILE says');
    assert.equal(importer.REGISTRATION_TUNNEL_CA_FILE, importer.TUNNEL_BROKER_CA_FILE, 'agents get the same CA through their manifest');
    assert.ok(composeText.includes('${FLOTILLA_TLS_CA_FILE:-./.data/tls/ca.crt}'), 'FLOTILLA_TLS_CA_FILE names another CA');
  });

  it("builds the tunnel agent's image on request, from the Dockerfile's tunnel-agent target, tagged as the importer's manifests name it", () => {
    const agent = services['tunnel-agent'];
    assert.deepEqual(agent.profiles, ['agent'], 'not started by docker compose up');
    assert.ok(stageNames.has(agent.build.target) && agent.build.target === 'tunnel-agent', `build target ${agent.build.target} is the Dockerfile's tunnel-agent stage`);
    assert.equal(resolve(root, agent.build.context), root);
    const { version } = JSON.parse(readFileSync(join(root, 'agents/tunnel-agent/package.json'), 'utf8'));
    assert.equal(agent.image, `flotilla/tunnel-agent:${version}`);
    assert.equal(agent.ports, undefined);
    assert.equal(agent.environment, undefined, 'configured by its manifest in the workload cluster, not here');
  });

  it('runs NATS with JetStream on a volume, PostgreSQL 15 with an auth setting, Jaeger with OTLP', () => {
    assert.match(services.nats.image, /^nats:2\.9/);
    assert.ok([].concat(services.nats.command).join(' ').split(/\s+/).some((arg) => arg === '-js' || arg === '--jetstream'), 'NATS runs with -js');
    assert.ok(services.nats.volumes?.length > 0, 'NATS keeps its store on a volume');
    assert.match(services.postgres.image, /^postgres:15/);
    const pg = environment(services.postgres);
    assert.ok(pg.POSTGRES_HOST_AUTH_METHOD || pg.POSTGRES_PASSWORD, 'PostgreSQL has trust auth or a password');
    assert.match(services.jaeger.image, /^jaegertracing\/all-in-one:/);
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
        if (source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~')) {
          assert.ok(declared.includes(source), `${name} uses volume ${source}, which is not declared`);
        }
      }
    }
  });

  it('fronts the services with nginx, configured from the route table, HTTPS with certificates from files', () => {
    const gateway = services.gateway;
    assert.match(gateway.image, /^nginx:\d+\.\d+/);
    assert.ok(composeText.includes('"${FLOTILLA_PORT:-8443}:8443"'), 'the published port follows FLOTILLA_PORT');
    const mounts = Object.fromEntries(gateway.volumes.map((v) => v.split(':')).map(([source, target]) => [target, source]));
    assert.equal(mounts['/etc/nginx/conf.d/default.conf'], './deploy/nginx/flotilla.conf');
    assert.equal(mounts['/etc/nginx/tls/tls.crt'], './.data/tls/server.crt');
    assert.equal(mounts['/etc/nginx/tls/tls.key'], './.data/tls/server.key');
    assert.ok(composeText.includes('${FLOTILLA_TLS_CERT_FILE:-') && composeText.includes('${FLOTILLA_TLS_KEY_FILE:-'), 'FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE name other files');
    for (const name of flotilla) assert.ok(dependsOn(gateway)[name], `the gateway starts after ${name}`);
    const conf = readFileSync(join(root, 'deploy/nginx/flotilla.conf'), 'utf8');
    assert.match(conf, /listen 8443 ssl;/);
    assert.match(conf, /ssl_certificate \/etc\/nginx\/tls\/tls\.crt;/);
    assert.match(conf, /proxy_set_header Upgrade \$http_upgrade;/);
    // Every route of the table, and nothing else, goes to its service's compose host and port.
    const routed = [...conf.matchAll(/location = (\S+) \{\s*set \$service (\S+);\s*set \$upstream (\S+):(\d+);/g)].map(([, prefix, service, host, port]) => ({ prefix, service, host, port: Number(port) }));
    assert.deepEqual(
      routed.sort((a, b) => a.prefix.localeCompare(b.prefix)),
      ROUTES.map(({ prefix, service }) => ({ prefix, service, host: service, port: SERVICES.find((s) => s.name === service).port })).sort((a, b) => a.prefix.localeCompare(b.prefix)),
    );
  });

  it('serves the fleet dashboard at / from its own container, and keeps /api for the API', () => {
    const dashboard = services[DASHBOARD_SERVICE.name];
    assert.equal(dashboard.build.target, 'dashboard', 'built from the Dockerfile\'s dashboard target');
    assert.equal(dependsOn(services.gateway)[DASHBOARD_SERVICE.name]?.condition, 'service_started', 'the gateway starts after the dashboard');
    const conf = readFileSync(join(root, 'deploy/nginx/flotilla.conf'), 'utf8');
    assert.match(conf, new RegExp(`location / \\{\\s*set \\$service ${DASHBOARD_SERVICE.name};\\s*set \\$upstream ${DASHBOARD_SERVICE.name}:${DASHBOARD_SERVICE.port};\\s*proxy_pass http://\\$upstream;`));
    assert.match(conf, /location \/api\/ \{\s*return 404 '\{"statusCode":404/);
    const template = readFileSync(join(root, 'deploy/nginx/dashboard.conf.template'), 'utf8');
    assert.match(template, new RegExp(`listen ${DASHBOARD_SERVICE.port};`));
    assert.match(template, /try_files \$uri \/index\.html;/, 'index.html for the dashboard\'s pages');
    assert.match(template, /"traceViewerUrl":"\$\{FLOTILLA_TRACE_VIEWER_URL\}"/);
    const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(dockerfileText, /COPY deploy\/nginx\/dashboard\.conf\.template \/etc\/nginx\/templates\/default\.conf\.template/);
    assert.match(dockerfileText, /COPY --from=dashboard-build \/app\/clients\/dashboard\/dist\/app \/usr\/share\/nginx\/html/);
  });

  it('has its generated entry-point files up to date with the route table (node tools/generate-deploy.mjs)', () => {
    for (const [path, make] of Object.entries(GENERATED)) assert.equal(readFileSync(join(root, path), 'utf8'), make(), `${path} is stale: run node tools/generate-deploy.mjs`);
    const text = readFileSync(join(root, 'deploy/kubernetes/base/ingress.yaml'), 'utf8');
    const documents = YAML.parseAllDocuments(text);
    for (const document of documents) assert.deepEqual(document.errors, []);
    const ingresses = documents.map((document) => document.toJS());
    for (const ingress of ingresses) {
      assert.equal(ingress.apiVersion, 'networking.k8s.io/v1');
      assert.equal(ingress.kind, 'Ingress');
    }
    const paths = ingresses.flatMap((ingress) => ingress.spec.rules.flatMap((rule) => rule.http.paths));
    assert.deepEqual(
      paths.map((p) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]).sort(),
      [...ROUTES.map(({ prefix, service }) => [prefix, 'Prefix', service, SERVICES.find((s) => s.name === service).port]), ['/', 'Prefix', DASHBOARD_SERVICE.name, DASHBOARD_SERVICE.port]].sort(),
    );
    // Kubernetes reads YAML 1.1: every annotation must be a string there too (a bare off is false).
    for (const ingress of YAML.parseAllDocuments(text, { version: '1.1' }).map((document) => document.toJS())) {
      for (const [key, value] of Object.entries(ingress.metadata.annotations ?? {})) assert.equal(typeof value, 'string', `${ingress.metadata.name}: ${key} is a string`);
    }
  });

  it('streams the tunnel routes through nginx and the Ingress: no buffering either way, long timeouts, upgrades of any protocol', () => {
    const seconds = String(STREAMING_TIMEOUT_MS / 1000);
    const conf = readFileSync(join(root, 'deploy/nginx/flotilla.conf'), 'utf8');
    // Upgrade and Connection are passed as the client sent them (nginx then relays any protocol).
    assert.match(conf, /map \$http_upgrade \$connection_upgrade \{\s*default upgrade;/);
    assert.match(conf, /proxy_set_header Upgrade \$http_upgrade;\s*proxy_set_header Connection \$connection_upgrade;/);
    assert.match(conf, /proxy_http_version 1\.1;/);
    const locations = [...conf.matchAll(/location (= )?(\/\S*) \{([^}]*)\}/g)].map(([, exact, path, body]) => ({ prefix: path.replace(/\/$/, ''), exact: Boolean(exact), body }));
    for (const { prefix, body } of locations.filter((l) => l.prefix.startsWith('/api/'))) {
      const streaming = isStreaming(prefix);
      for (const directive of ['proxy_buffering off;', 'proxy_request_buffering off;', `proxy_read_timeout ${seconds}s;`, `proxy_send_timeout ${seconds}s;`]) {
        assert.equal(body.includes(directive), streaming, `${prefix}: ${directive} ${streaming ? 'is' : 'is not'} set`);
      }
    }
    for (const prefix of STREAMING_PREFIXES) assert.equal(locations.filter((l) => l.prefix === prefix).length, 2, `${prefix} and ${prefix}/ are both configured`);
    assert.match(conf, /plain\s*# TCP with mutual TLS end to end/, 'the agents\' port is said to stay out of the proxy');

    const text = readFileSync(join(root, 'deploy/kubernetes/base/ingress.yaml'), 'utf8');
    const ingresses = YAML.parseAllDocuments(text).map((document) => document.toJS());
    const paths = (ingress) => ingress.spec.rules.flatMap((rule) => rule.http.paths.map((p) => p.path));
    const streaming = ingresses.filter((ingress) => paths(ingress).some(isStreaming));
    assert.equal(streaming.length, 1, 'the streaming routes have an Ingress of their own');
    assert.ok(paths(streaming[0]).every(isStreaming), 'and nothing else is in it');
    const annotations = streaming[0].metadata.annotations;
    assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-buffering'], 'off');
    assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-request-buffering'], 'off');
    assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'], seconds);
    assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'], seconds);
    assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-http-version'], '1.1');
    for (const ingress of ingresses.filter((i) => !streaming.includes(i))) {
      assert.equal(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering'], undefined, `${ingress.metadata.name} keeps buffering`);
    }
    assert.deepEqual(new Set(ingresses.map((i) => JSON.stringify([i.spec.rules.map((r) => r.host), i.spec.tls]))).size, 1, 'one host and TLS Secret for all');
    assert.match(text, /^# .*plain\n# TCP with mutual TLS end to end/m);
    assert.match(text, /type: LoadBalancer/, 'the header says how to expose the agents\' port');
  });

  it('runs NATS with the configuration generated from the catalogue, each service as its own user', () => {
    const command = [].concat(services.nats.command);
    const configPath = command[command.indexOf('-c') + 1];
    assert.ok(command.includes('-c') && configPath, 'NATS runs with -c <configuration>');
    const mount = (services.nats.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target])).find(([, target]) => target === configPath);
    assert.deepEqual(mount?.[0], './deploy/nats/flotilla-nats.conf', 'the generated configuration is mounted');
    const config = readFileSync(join(root, 'deploy/nats/flotilla-nats.conf'), 'utf8');
    const users = [...config.matchAll(/user: "([^"]+)"\s+password: (\S+)/g)].map(([, user, password]) => ({ user, password }));
    assert.ok(users.length > flotilla.length, 'a user per service, and outside publishers');
    const natsEnv = environment(services.nats);
    for (const { user, password } of users) {
      // Never a password in the repository: each is a variable nats-server reads at start.
      const variable = /^\$(FLOTILLA_NATS_[A-Z0-9_]+_PASSWORD)$/.exec(password)?.[1];
      assert.ok(variable, `${user}: the password is a $FLOTILLA_NATS_..._PASSWORD reference, not a value`);
      assert.match(String(natsEnv[variable]), new RegExp(`^\\$\\{${variable}:\\?`), `nats gets ${variable} from whoever runs compose, required`);
    }
    for (const name of flotilla) {
      const env = environment(services[name]);
      const { password } = users.find((user) => user.user === name) ?? {};
      assert.ok(password, `the configuration has a user ${name}`);
      assert.equal(env.NATS_USER, name, `${name} connects as its own user`);
      assert.match(String(env.NATS_PASSWORD), new RegExp(`^\\$\\{${password.slice(1)}:\\?`), `${name} gets the password its user has`);
    }
  });

  const cli = [
    ['docker', ['compose', 'version']],
    ['docker-compose', ['version']],
  ].find(([command, args]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0);
  it('passes `compose config -q`', { skip: !cli && 'no compose CLI here' }, () => {
    const [command] = cli;
    const natsPasswords = Object.fromEntries([...readFileSync(join(root, 'deploy/nats/flotilla-nats.conf'), 'utf8').matchAll(/\$(FLOTILLA_NATS_\w+_PASSWORD)/g)].map(([, name]) => [name, 'pexample']));
    const args = command === 'docker' ? ['compose', 'config', '-q'] : ['config', '-q'];
    // The one variable compose requires from whoever runs it.
    const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, FLOTILLA_SECRETS_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', ...natsPasswords } });
    assert.equal(result.status, 0, result.stderr);
  });
});

describe('Dockerfile', () => {
  it('exists, is multi-stage on node:20-bookworm-slim, and every stage it refers to is defined earlier', () => {
    assert.ok(dockerfile, 'Dockerfile exists');
    const stages = dockerfile.stages;
    assert.ok(stages.length >= 3, 'multi-stage');
    const args = Object.fromEntries(
      dockerfile.instructions.filter((i) => i.keyword === 'ARG' && i.stage === undefined).map((i) => i.args.split('=')),
    );
    const defined = new Set();
    for (const stage of stages) {
      const image = stage.image.replace(/^\$\{?(\w+)\}?$/, (_, name) => args[name] ?? `$${name}`);
      assert.ok(defined.has(image) || /^[\w.\-/]+(:[\w.\-]+)?(@sha256:[0-9a-f]+)?$/.test(image), `FROM ${stage.image}: neither an earlier stage nor an image`);
      // The dashboard's image is nginx, as the gateway of docker-compose.yml; every other stage is Node's.
      if (!defined.has(image)) assert.equal(image, stage.name === 'dashboard' ? compose.services.gateway.image : 'node:20-bookworm-slim', `stage ${stage.name}: its base image`);
      for (const instruction of stage.instructions) {
        const from = /--from=(\S+)/.exec(instruction.args)?.[1];
        if (from) assert.ok(defined.has(from), `${instruction.keyword} --from=${from} in stage ${stage.name}: no earlier stage of that name`);
      }
      if (stage.name) defined.add(stage.name);
    }
  });

  it('installs with npm ci, builds with tsc -b and prunes to production dependencies', () => {
    const runs = dockerfile.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), 'npm ci');
    assert.ok(runs.some((r) => /\btsc -b\b/.test(r)), 'tsc -b');
    assert.ok(runs.some((r) => /npm prune --omit=dev/.test(r)), 'npm prune --omit=dev');
  });

  it('runs the chosen service as a non-root user with the telemetry register hook', () => {
    const runtime = dockerfile.stages.at(-1);
    const final = (keyword) => runtime.instructions.filter((i) => i.keyword === keyword);
    assert.ok(final('ARG').some((i) => /^SERVICE\b/.test(i.args)), 'ARG SERVICE');
    assert.ok(final('ENV').some((i) => /FLOTILLA_SERVICE=\$\{?SERVICE\}?/.test(i.args)), 'ENV FLOTILLA_SERVICE=${SERVICE}');
    const user = final('USER').at(-1)?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (USER ${user})`);
    const cmd = final('CMD').at(-1)?.args ?? '';
    assert.match(cmd, /--import @flotilla\/telemetry\/register/);
    assert.match(cmd, /services\/\$\{?FLOTILLA_SERVICE\}?\/dist\/src\/main\.js/);
    assert.match(cmd, /--enable-source-maps/);
  });

  it('leaves dependencies, build output and local data out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const pattern of ['**/node_modules', '**/dist', '.data', '.git']) assert.ok(ignored.includes(pattern), `.dockerignore has ${pattern}`);
  });
});
