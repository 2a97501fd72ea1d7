// The Kubernetes files tools/generate-deploy.mjs writes besides the Ingress, each from its one
// source, so none can drift from it:
//   NATS Helm values       the users and permissions of the event catalogue (libs/contracts)
//   KEDA ScaledObjects     the durable consumers of the catalogue, on the events stream
//   Gateway API HTTPRoute  the route table (deploy/routes.mjs)
//   PrometheusRule, Grafana dashboard ConfigMap   deploy/observability
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { consumerDurables, DEFAULT_SUBJECT_PREFIX, natsUsers, streamName } from '@flotilla/contracts';
import { isStreaming, STREAMING_TIMEOUT_MS } from '../start-lib/gateway.mjs';

/** Where production runs (the overlay's namespace): KEDA reaches NATS's monitoring by its full name. */
export const NAMESPACE = 'flotilla';
/** The NATS Helm release, installed in the same namespace (its pods are what the services' NetworkPolicies allow). */
export const NATS_RELEASE = 'nats';
/** The Secret holding each NATS user's password under the user's name. */
export const NATS_USERS_SECRET = 'flotilla-nats-users';
/** The account the services' users share: the streams, consumers and buckets are in it. */
export const NATS_ACCOUNT = 'FLOTILLA';
export const NATS_MONITORING_PORT = 8222;
/** The services KEDA scales on consumer lag; the tunnel broker keeps agents' connections and is scaled by hand. */
export const LAG_SCALED_SERVICES = Object.freeze(['inventory', 'provisioner', 'importer', 'upgrade-planner']);

const naming = { prefix: DEFAULT_SUBJECT_PREFIX };
const yaml = (document) => YAML.stringify(document, { version: '1.1', lineWidth: 0 });
const comments = (lines) => lines.map((line) => `# ${line}`).join('\n');

/** Values for the official NATS chart (https://nats-io.github.io/k8s/helm/charts/, 1.x). */
export function natsHelmValues(header) {
  const users = natsUsers(naming);
  const values = {
    config: {
      cluster: { enabled: true, replicas: 3 },
      jetstream: { enabled: true, fileStore: { enabled: true, pvc: { enabled: true, size: '10Gi' } }, memoryStore: { enabled: false } },
      monitor: { enabled: true, port: NATS_MONITORING_PORT },
      merge: {
        accounts: {
          [NATS_ACCOUNT]: {
            jetstream: 'enabled',
            // The chart writes << ... >> raw: nats-server reads each password from its variable.
            users: users.map((user) => ({
              user: user.user,
              password: `<< $${user.passwordVariable} >>`,
              permissions: { publish: { allow: user.publish }, subscribe: { allow: user.subscribe } },
            })),
          },
        },
      },
    },
    container: {
      env: Object.fromEntries(users.map((user) => [user.passwordVariable, { valueFrom: { secretKeyRef: { name: NATS_USERS_SECRET, key: user.user } } }])),
      merge: {
        resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    },
    podTemplate: { topologySpreadConstraints: { 'kubernetes.io/hostname': { maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' } } },
    podDisruptionBudget: { enabled: true },
    natsBox: { enabled: false },
  };
  return `${comments([
    ...header,
    `Values of the official NATS Helm chart (1.x): a 3-node JetStream cluster with file storage, the`,
    `account ${NATS_ACCOUNT} holding one user per service with the permissions of deploy/nats/flotilla-nats.conf`,
    `(the same event catalogue). Passwords come from the Secret ${NATS_USERS_SECRET} (one key per user), never from here:`,
    `  helm repo add nats https://nats-io.github.io/k8s/helm/charts/`,
    `  helm upgrade --install ${NATS_RELEASE} nats/nats -n ${NAMESPACE} -f deploy/kubernetes/nats/values.yaml`,
  ])}\n${yaml(values)}`;
}

/** One ScaledObject per lag-scaled service: a nats-jetstream trigger for each of its durable consumers. */
export function kedaScaledObjects(header) {
  const documents = LAG_SCALED_SERVICES.map((service) => ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: service, labels: { 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': 'flotilla' } },
    spec: {
      scaleTargetRef: { name: service },
      minReplicaCount: 2,
      maxReplicaCount: service === 'upgrade-planner' ? 4 : 8,
      // Scale down slowly: a replica leaving hands its in-flight batches back to JetStream.
      cooldownPeriod: 300,
      triggers: consumerDurables(service).map((consumer) => ({
        type: 'nats-jetstream',
        metadata: {
          // The headless Service: in a cluster KEDA asks each server (<pod>.<this>) for the consumer's leader.
          natsServerMonitoringEndpoint: `${NATS_RELEASE}-headless.${NAMESPACE}.svc.cluster.local:${NATS_MONITORING_PORT}`,
          account: NATS_ACCOUNT,
          stream: streamName(naming, 'events'),
          consumer,
          lagThreshold: '100',
          activationLagThreshold: '0',
        },
      })),
    },
  }));
  return `${comments([
    ...header,
    'KEDA scales each consuming service on the lag of its durable consumers of the events stream',
    `(libs/contracts: consumerDurables). NATS's monitoring endpoint is named in namespace ${NAMESPACE}.`,
  ])}\n${documents.map(yaml).join('---\n')}`;
}

/**
 * The route table as a Gateway API HTTPRoute on the Gateway `flotilla`, with the dashboard at `/`:
 * one rule per service and kind (an HTTPRoute holds at most 16 rules); precedence is by the longest
 * matching prefix across all rules, as in the table.
 */
export function gatewayHttpRoute(header, { routes, portOf, dashboard }) {
  const groups = new Map();
  for (const { prefix, service } of [...routes, { prefix: '/', service: dashboard.name }]) {
    const streaming = isStreaming(prefix);
    const key = `${service}${streaming ? ' streaming' : ''}`;
    if (!groups.has(key)) groups.set(key, { service, streaming, prefixes: [] });
    groups.get(key).prefixes.push(prefix);
  }
  const rules = [...groups.values()].map(({ service, streaming, prefixes }) => ({
    matches: prefixes.map((value) => ({ path: { type: 'PathPrefix', value } })),
    backendRefs: [{ name: service, port: service === dashboard.name ? dashboard.port : portOf(service) }],
    // The Kubernetes API through the tunnel: watches, logs and upgraded streams stay open.
    ...(streaming ? { timeouts: { request: '0s', backendRequest: '0s' } } : {}),
  }));
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'flotilla', labels: { 'app.kubernetes.io/part-of': 'flotilla' } },
    spec: { parentRefs: [{ name: 'flotilla', sectionName: 'https' }], hostnames: ['flotilla.example.com'], rules },
  };
  return `${comments([
    ...header,
    'The Gateway API alternative to the Ingress: the same route table on an HTTPRoute. PathPrefix matches whole',
    `path elements and the longest wins; the tunnel's streaming routes have no timeout (${STREAMING_TIMEOUT_MS / 1000} s in nginx).`,
  ])}\n${yaml(route)}`;
}

/** deploy/observability's alert rules as a PrometheusRule of the Prometheus Operator. */
export function prometheusRule(header, root) {
  const rules = YAML.parse(readFileSync(join(root, 'deploy/observability/prometheus/flotilla-alerts.yaml'), 'utf8'));
  const document = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'flotilla', labels: { 'app.kubernetes.io/part-of': 'flotilla' } },
    spec: rules,
  };
  return `${comments([...header, 'From deploy/observability/prometheus/flotilla-alerts.yaml.'])}\n${yaml(document)}`;
}

/** The Grafana dashboard as a ConfigMap Grafana's dashboard sidecar loads (label grafana_dashboard). */
export function grafanaDashboardConfigMap(header, root) {
  const dashboard = readFileSync(join(root, 'deploy/observability/grafana/flotilla-dashboard.json'), 'utf8');
  const document = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'flotilla-grafana-dashboard', labels: { 'app.kubernetes.io/part-of': 'flotilla', grafana_dashboard: '1' }, annotations: { grafana_folder: 'Flotilla' } },
    data: { 'flotilla-dashboard.json': dashboard },
  };
  return `${comments([...header, 'From deploy/observability/grafana/flotilla-dashboard.json.'])}\n${yaml(document)}`;
}
