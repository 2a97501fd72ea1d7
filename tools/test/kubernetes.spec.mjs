// The Kubernetes deployment (deploy/kubernetes), offline: every overlay rendered with
// `kubectl kustomize`, every object validated against its schema (kubernetes-models and its KEDA,
// Gateway API and Prometheus Operator packages), and the checks that keep it runnable: each
// Deployment probed, limited, hardened, with a ServiceAccount, a PodDisruptionBudget, a Service and
// a NetworkPolicy of its own; each service's configuration accepted by its own schema; images the
// Dockerfile builds at the workspaces' versions; KEDA on the catalogue's durable consumers; NATS
// with the catalogue's users. Run: node --test tools/test/kubernetes.spec.mjs (after tsc -b).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { consumerDurables, DEFAULT_SUBJECT_PREFIX, natsUsers, streamName } from '@flotilla/contracts';
import { loadConfig } from '@flotilla/service-kit';
import { SERVICES } from '../start-lib/env.mjs';
import { DASHBOARD_SERVICE } from '../start-lib/dashboard.mjs';
import { LAG_SCALED_SERVICES, NAMESPACE, NATS_ACCOUNT, NATS_RELEASE, NATS_USERS_SECRET } from '../deploy-lib/kubernetes.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const kubernetesDir = join(root, 'deploy/kubernetes');
const OVERLAYS = readdirSync(join(kubernetesDir, 'overlays'));
const serviceNames = SERVICES.map((s) => s.name);
/** Every object of an overlay is in its namespace (all of these kinds are namespaced). */
const NAMESPACES = { development: 'flotilla-dev', production: NAMESPACE, 'gateway-api': NAMESPACE };
const versionOf = (workspace) => JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8')).version;

/** apiVersion -> the module of its kinds' classes. */
const MODELS = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'gateway.networking.k8s.io/v1': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

function render(overlay) {
  const result = spawnSync('kubectl', ['kustomize', join(kubernetesDir, 'overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.error, undefined, `kubectl runs (${result.error?.message})`);
  assert.equal(result.status, 0, `kubectl kustomize overlays/${overlay}: ${result.stderr}`);
  const documents = YAML.parseAllDocuments(result.stdout);
  for (const document of documents) assert.deepEqual(document.errors, [], `overlays/${overlay} renders YAML`);
  return documents.map((document) => document.toJS()).filter(Boolean);
}

const matches = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
  (selector?.matchExpressions ?? []).every(({ key, operator, values }) => (operator === 'In' ? values.includes(labels[key]) : operator === 'Exists' ? key in labels : false));
const named = (objects, kind) => objects.filter((object) => object.kind === kind);
const byName = (objects, kind, name) => named(objects, kind).find((object) => object.metadata.name === name);
/** Which Flotilla service or the dashboard a Deployment runs: its name label. */
const appOf = (deployment) => deployment.spec.template.metadata.labels['app.kubernetes.io/name'];

/** The parsed configuration schema of a service (its compiled config.js): the export with PORT among its keys. */
async function configSchema(service) {
  const module = await import(pathToFileURL(join(root, 'services', service, 'dist/src/config.js')).href);
  const schema = Object.values(module).find((value) => value?.shape?.PORT !== undefined);
  assert.ok(schema, `services/${service}/src/config.ts exports its schema`);
  return schema;
}

/** A container's variables as the pod gets them: env values, ConfigMaps' data, Secrets as placeholders. */
function environment(container, objects) {
  const env = {};
  const secrets = [];
  for (const source of container.envFrom ?? []) {
    assert.ok(source.configMapRef, `${container.name}: envFrom only ConfigMaps (secrets by key, never whole)`);
    const configMap = byName(objects, 'ConfigMap', source.configMapRef.name);
    assert.ok(configMap, `${container.name}: ConfigMap ${source.configMapRef.name} is rendered`);
    Object.assign(env, configMap.data);
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.secretKeyRef) secrets.push({ variable: variable.name, secret: variable.valueFrom.secretKeyRef.name });
    env[variable.name] = variable.value ?? (variable.valueFrom?.secretKeyRef ? `<secret ${variable.valueFrom.secretKeyRef.name}/${variable.valueFrom.secretKeyRef.key}>` : '<from the pod>');
  }
  return { env, secrets };
}

/** What a value from a Secret looks like, for the schema's sake (the real ones are the operator's). */
const SECRET_STAND_INS = {
  DATABASE_URL: 'postgres://flotilla@flotilla-db-rw:5432/flotilla',
  SECRETS_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};

describe('the Kubernetes deployment', () => {
  const rendered = {};
  before(() => {
    for (const overlay of OVERLAYS) rendered[overlay] = render(overlay);
  });

  it('has the development, production and Gateway API overlays', () => {
    for (const overlay of ['development', 'production', 'gateway-api']) assert.ok(OVERLAYS.includes(overlay), overlay);
  });

  it('renders every overlay into objects valid against their schemas', async () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      assert.ok(objects.length > 30, `overlays/${overlay} renders the whole system (${objects.length} objects)`);
      for (const object of objects) {
        const where = `overlays/${overlay}: ${object.kind} ${object.metadata?.name}`;
        const modulePath = MODELS[object.apiVersion];
        assert.ok(modulePath, `${where}: ${object.apiVersion} has a schema here`);
        const Kind = (await import(modulePath))[object.kind];
        assert.equal(typeof Kind, 'function', `${where}: a known kind of ${object.apiVersion}`);
        assert.doesNotThrow(() => new Kind(object).validate(), where);
        assert.equal(object.metadata.namespace, NAMESPACES[overlay], `${where}: in the overlay's namespace (NAMESPACES)`);
      }
    }
  });

  it('runs each service and the dashboard probed, limited and hardened', () => {
    for (const overlay of OVERLAYS) {
      const deployments = named(rendered[overlay], 'Deployment');
      assert.deepEqual(deployments.map(appOf).sort(), [...serviceNames, DASHBOARD_SERVICE.name].sort(), `overlays/${overlay}: one Deployment each`);
      for (const deployment of deployments) {
        const where = `overlays/${overlay}: ${deployment.metadata.name}`;
        const pod = deployment.spec.template.spec;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where} runs as non-root`);
        assert.equal(pod.automountServiceAccountToken, false, `${where} mounts no API token`);
        for (const container of pod.containers) {
          const api = serviceNames.includes(appOf(deployment));
          assert.equal(container.readinessProbe?.httpGet?.path, api ? '/readyz' : '/config.json', `${where}: readiness`);
          assert.equal(container.livenessProbe?.httpGet?.path, api ? '/healthz' : '/config.json', `${where}: liveness`);
          for (const kind of ['requests', 'limits']) {
            assert.ok(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory, `${where}: cpu and memory ${kind}`);
          }
          const security = container.securityContext ?? {};
          assert.equal(security.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
          assert.equal(security.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`);
          assert.deepEqual(security.capabilities?.drop, ['ALL'], `${where}: drops every capability`);
          assert.ok(!security.privileged, `${where}: not privileged`);
        }
      }
    }
  });

  it('gives every Deployment its ServiceAccount, PodDisruptionBudget, Service and NetworkPolicy', () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const policies = named(objects, 'NetworkPolicy');
      for (const deployment of named(objects, 'Deployment')) {
        const where = `overlays/${overlay}: ${deployment.metadata.name}`;
        const labels = deployment.spec.template.metadata.labels;
        const account = byName(objects, 'ServiceAccount', deployment.spec.template.spec.serviceAccountName);
        assert.ok(account, `${where}: its ServiceAccount is rendered`);
        assert.equal(account.automountServiceAccountToken, false, `${where}: its ServiceAccount mounts no token`);
        assert.ok(named(objects, 'PodDisruptionBudget').some((pdb) => matches(pdb.spec.selector, labels)), `${where}: a PodDisruptionBudget selects it`);
        const ports = deployment.spec.template.spec.containers.flatMap((container) => container.ports ?? []);
        const service = named(objects, 'Service').find((s) => s.spec.type !== 'LoadBalancer' && matches({ matchLabels: s.spec.selector }, labels));
        assert.ok(service, `${where}: a Service selects it`);
        for (const port of service.spec.ports) assert.ok(ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort), `${where}: Service port ${port.name} targets a container port`);
        // Its own policy (not only the default deny): one naming its pods that allows some traffic.
        const own = policies.filter((policy) => matches(policy.spec.podSelector, labels) && policy.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === appOf(deployment));
        assert.equal(own.length, 1, `${where}: a NetworkPolicy of its own`);
        assert.deepEqual(own[0].spec.policyTypes, ['Ingress', 'Egress'], `${where}: its policy limits both directions`);
        for (const rule of own[0].spec.ingress) assert.ok(rule.ports?.length > 0, `${where}: ingress only to named ports`);
        for (const rule of own[0].spec.egress) assert.ok(rule.ports?.length > 0, `${where}: egress only to named ports`);
        const api = ports.find((p) => p.name === 'http').containerPort;
        assert.ok(own[0].spec.ingress.some((rule) => rule.ports.some((p) => p.port === api)), `${where}: its API port is reachable`);
      }
      const deny = policies.find((policy) => policy.metadata.name === 'flotilla-default-deny');
      assert.ok(deny && deny.spec.ingress === undefined && deny.spec.egress === undefined, `overlays/${overlay}: everything else is denied`);
    }
  });

  it("limits each service's traffic to what it needs", () => {
    const objects = rendered.production;
    const policy = (service) => byName(objects, 'NetworkPolicy', service);
    const egressPorts = (service) => new Set(policy(service).spec.egress.flatMap((rule) => rule.ports.map((p) => p.port)));
    for (const service of serviceNames) {
      for (const port of [53, 4222, 5432]) assert.ok(egressPorts(service).has(port), `${service} reaches port ${port}`);
    }
    assert.ok(egressPorts('provisioner').has(22), 'the provisioner reaches users\' hosts over SSH');
    assert.ok(!egressPorts('importer').has(22) && !egressPorts('inventory').has(443), 'the others reach no SSH, the inventory nothing outside');
    assert.ok(egressPorts('importer').has(443) && egressPorts('importer').has(6443), "the importer reaches clusters' API servers and the clouds");
    assert.deepEqual(policy(DASHBOARD_SERVICE.name).spec.egress, [], 'the dashboard reaches nothing');
    const agents = policy('tunnel-broker').spec.ingress.find((rule) => rule.ports.some((p) => p.port === 8091));
    assert.ok(agents.from.some((peer) => peer.ipBlock?.cidr === '0.0.0.0/0'), 'agents dial the broker from anywhere');
    assert.ok(!policy('inventory').spec.ingress.some((rule) => rule.from.some((peer) => peer.ipBlock)), 'the inventory is reached only through the entry point');
    const agentsService = named(objects, 'Service').find((s) => s.spec.type === 'LoadBalancer');
    assert.deepEqual(agentsService.spec.ports.map((p) => p.port), [8091], "the agents' port is its own load balancer, never the Ingress");
  });

  it("sets every variable a service's schema requires, with values the schema accepts", async () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      for (const service of serviceNames) {
        const where = `overlays/${overlay}: ${service}`;
        const schema = await configSchema(service);
        const container = byName(objects, 'Deployment', service).spec.template.spec.containers[0];
        const { env, secrets } = environment(container, objects);
        const required = Object.entries(schema.shape).filter(([, field]) => !field.safeParse(undefined).success).map(([name]) => name);
        for (const name of required) assert.ok(name in env, `${where}: ${name} is required by its schema`);
        // What the schema defaults but a cluster cannot: the database, NATS and its own NATS user.
        for (const name of ['DATABASE_URL', 'NATS_URL', 'NATS_USER', 'NATS_PASSWORD_FILE']) assert.ok(name in env, `${where}: ${name}`);
        assert.equal(env.NATS_USER, service, `${where}: its own NATS user`);
        const unknown = Object.keys(env).filter((name) => !(name in schema.shape) && !['NODE_OPTIONS', 'POD_IP'].includes(name));
        assert.deepEqual(unknown, [], `${where}: every variable is one its schema reads`);
        for (const { variable, secret } of secrets) assert.ok(SECRET_STAND_INS[variable], `${where}: ${variable} from Secret ${secret} is one of the secrets`);
        const stood = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value.startsWith('<secret') ? SECRET_STAND_INS[name] : value]));
        stood.TUNNEL_REPLICA_URL &&= stood.TUNNEL_REPLICA_URL.replace('$(POD_IP)', '10.0.0.7');
        assert.doesNotThrow(() => loadConfig(schema, stood), `${where}: its schema accepts the configuration`);
        const nats = container.volumeMounts.find((mount) => env.NATS_PASSWORD_FILE.startsWith(`${mount.mountPath}/`));
        const volume = container && byName(objects, 'Deployment', service).spec.template.spec.volumes.find((v) => v.name === nats?.name);
        assert.deepEqual(volume?.secret, { secretName: NATS_USERS_SECRET, items: [{ key: service, path: 'password' }] }, `${where}: NATS_PASSWORD_FILE is its own password only`);
      }
    }
  });

  it('names images the Dockerfile builds, at the versions of their workspaces', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM .* AS runtime$/m, 'the services are the runtime target');
    assert.match(dockerfile, /^FROM .* AS dashboard$/m, 'the dashboard is its own target');
    assert.match(dockerfile, /^FROM .* AS tunnel-agent$/m, 'the tunnel agent is its own target');
    const buildable = new Map([...serviceNames.map((name) => [name, `services/${name}`]), [DASHBOARD_SERVICE.name, 'clients/dashboard']]);
    for (const overlay of OVERLAYS) {
      for (const deployment of named(rendered[overlay], 'Deployment')) {
        for (const container of deployment.spec.template.spec.containers) {
          const [, name, tag] = /^flotilla\/([a-z-]+):(.+)$/.exec(container.image) ?? [];
          assert.ok(buildable.has(name), `overlays/${overlay}: ${container.image} is an image of this Dockerfile`);
          assert.equal(name, appOf(deployment), `${container.image} runs as ${appOf(deployment)}`);
          assert.equal(tag, versionOf(buildable.get(name)), `${container.image}: the version of ${buildable.get(name)}`);
        }
      }
      const importer = environment(byName(rendered[overlay], 'Deployment', 'importer').spec.template.spec.containers[0], rendered[overlay]).env;
      assert.equal(importer.REGISTRATION_AGENT_IMAGE, `flotilla/tunnel-agent:${versionOf('agents/tunnel-agent')}`, 'agents are told the tunnel agent of this version');
    }
  });

  it('routes the entry point to rendered Services and ports, by Ingress or by HTTPRoute', () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const backends = [
        ...named(objects, 'Ingress').flatMap((i) => i.spec.rules.flatMap((r) => r.http.paths.map((p) => ({ name: p.backend.service.name, port: p.backend.service.port.number })))),
        ...named(objects, 'HTTPRoute').flatMap((r) => r.spec.rules.flatMap((rule) => rule.backendRefs)),
      ];
      assert.ok(backends.length > 0, `overlays/${overlay} has an entry point`);
      assert.equal(named(objects, 'Ingress').length > 0 && named(objects, 'HTTPRoute').length > 0, false, `overlays/${overlay}: one entry point, not both`);
      for (const { name, port } of backends) {
        const service = byName(objects, 'Service', name);
        assert.ok(service?.spec.ports.some((p) => p.port === port), `overlays/${overlay}: ${name}:${port} is a Service port`);
      }
    }
    // Kubeconfigs, agents' manifests and the importer's way to the broker name the address the entry point serves.
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const hosts = new Set([...named(objects, 'Ingress').flatMap((i) => i.spec.rules.map((r) => r.host)), ...named(objects, 'HTTPRoute').flatMap((r) => r.spec.hostnames)]);
      const importer = environment(byName(objects, 'Deployment', 'importer').spec.template.spec.containers[0], objects).env;
      for (const name of ['FLOTILLA_PUBLIC_URL', 'REGISTRATION_TUNNEL_URL', 'TUNNEL_BROKER_URL']) {
        assert.deepEqual([...hosts], [new URL(importer[name]).hostname], `overlays/${overlay}: ${name} is the entry point's host`);
      }
    }
    const route = byName(rendered['gateway-api'], 'HTTPRoute', 'flotilla');
    assert.ok(byName(rendered['gateway-api'], 'Gateway', route.spec.parentRefs[0].name), 'the HTTPRoute names the Gateway that is rendered');
  });

  it('scales the consumers on their JetStream consumers\' lag in production, one replica each in development', () => {
    const production = rendered.production;
    const scaled = named(production, 'ScaledObject');
    assert.deepEqual(scaled.map((s) => s.spec.scaleTargetRef.name).sort(), [...LAG_SCALED_SERVICES].sort());
    for (const object of scaled) {
      const service = object.spec.scaleTargetRef.name;
      assert.ok(byName(production, 'Deployment', service), `${service} is a Deployment`);
      assert.ok(object.spec.minReplicaCount >= 2, `${service} keeps two replicas`);
      assert.deepEqual(object.spec.triggers.map((t) => t.metadata.consumer).sort(), consumerDurables(service).sort(), `${service}: every durable consumer of the catalogue`);
      for (const { type, metadata } of object.spec.triggers) {
        assert.equal(type, 'nats-jetstream');
        assert.equal(metadata.stream, streamName({ prefix: DEFAULT_SUBJECT_PREFIX }, 'events'));
        assert.equal(metadata.account, NATS_ACCOUNT);
        assert.equal(metadata.natsServerMonitoringEndpoint, `nats-headless.${object.metadata.namespace}.svc.cluster.local:8222`, 'NATS in the same namespace');
      }
    }
    assert.ok(named(production, 'Deployment').every((d) => d.spec.replicas >= 2), 'production runs two replicas or more');
    assert.equal(byName(production, 'Deployment', 'tunnel-broker').metadata.namespace, NAMESPACE, "KEDA's endpoint names production's namespace");
    for (const pdb of named(production, 'PodDisruptionBudget')) {
      assert.equal(pdb.spec.minAvailable, 1, `${pdb.metadata.name}: minAvailable 1`);
      assert.equal(pdb.spec.maxUnavailable, undefined);
    }
    for (const deployment of named(production, 'Deployment')) {
      const keys = (deployment.spec.template.spec.topologySpreadConstraints ?? []).map((c) => c.topologyKey);
      assert.deepEqual(keys, ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'], `${deployment.metadata.name} spreads over nodes and zones`);
    }
    assert.ok(named(rendered.development, 'Deployment').every((d) => d.spec.replicas === 1), 'development runs one replica each');
    assert.equal(named(rendered.development, 'ScaledObject').length, 0, 'development needs no KEDA');
  });

  it('ships the alert rules and the dashboard of deploy/observability in production', () => {
    const production = rendered.production;
    const alerts = YAML.parse(readFileSync(join(root, 'deploy/observability/prometheus/flotilla-alerts.yaml'), 'utf8'));
    assert.deepEqual(byName(production, 'PrometheusRule', 'flotilla').spec, alerts);
    const dashboard = byName(production, 'ConfigMap', 'flotilla-grafana-dashboard');
    assert.equal(dashboard.data['flotilla-dashboard.json'], readFileSync(join(root, 'deploy/observability/grafana/flotilla-dashboard.json'), 'utf8'));
    const monitor = byName(production, 'ServiceMonitor', 'flotilla');
    for (const service of serviceNames) assert.ok(matches(monitor.spec.selector, byName(production, 'Service', service).metadata.labels), `${service} is scraped`);
  });

  it("configures NATS as a 3-node JetStream cluster with the catalogue's users, passwords from the Secret", () => {
    const values = YAML.parse(readFileSync(join(kubernetesDir, 'nats/values.yaml'), 'utf8'));
    assert.equal(values.config.cluster.enabled, true);
    assert.equal(values.config.cluster.replicas, 3);
    assert.equal(values.config.jetstream.enabled, true);
    assert.equal(values.config.jetstream.fileStore.enabled, true);
    const users = values.config.merge.accounts[NATS_ACCOUNT].users;
    const expected = natsUsers({ prefix: DEFAULT_SUBJECT_PREFIX });
    assert.deepEqual(users.map((u) => u.user), expected.map((u) => u.user));
    for (const [index, user] of users.entries()) {
      assert.deepEqual(user.permissions, { publish: { allow: expected[index].publish }, subscribe: { allow: expected[index].subscribe } }, `${user.user}: the catalogue's permissions`);
      assert.equal(user.password, `<< $${expected[index].passwordVariable} >>`, `${user.user}: the password from its variable`);
      assert.deepEqual(values.container.env[expected[index].passwordVariable], { valueFrom: { secretKeyRef: { name: NATS_USERS_SECRET, key: user.user } } });
    }
    assert.ok(!/password: (?!<<)/.test(readFileSync(join(kubernetesDir, 'nats/values.yaml'), 'utf8')), 'no password value in the file');
    for (const overlay of OVERLAYS) {
      const config = named(rendered[overlay], 'ConfigMap').find((c) => c.metadata.name.startsWith('flotilla-config-'));
      assert.equal(new URL(config.data.NATS_URL).hostname, NATS_RELEASE, `overlays/${overlay}: the services reach the Helm release's Service`);
    }
  });

  it('expects PostgreSQL where the CloudNativePG example puts it', () => {
    const cluster = YAML.parse(readFileSync(join(kubernetesDir, 'postgres/cluster.yaml'), 'utf8'));
    assert.equal(cluster.apiVersion, 'postgresql.cnpg.io/v1');
    assert.equal(cluster.kind, 'Cluster');
    for (const service of serviceNames) {
      const egress = byName(rendered.production, 'NetworkPolicy', service).spec.egress.find((rule) => rule.ports.some((p) => p.port === 5432));
      assert.equal(egress.to[0].podSelector.matchLabels['cnpg.io/cluster'], cluster.metadata.name, `${service} may reach the example's pods`);
    }
  });
});
