import { stringify } from 'yaml';

/** A Kubernetes object as plain data (the manifest is rendered, never applied, by the importer). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface ManifestInput {
  clusterId: string;
  registrationId: string;
  /** The one-time token: it goes into the Secret only. */
  token: string;
  /** Where the agent dials out to: the tunnel broker's public URL. */
  tunnelUrl: string;
  agentImage: string;
}

export const AGENT_NAMESPACE = 'flotilla-system';
export const AGENT_NAME = 'flotilla-tunnel-agent';
const TOKEN_SECRET_NAME = `${AGENT_NAME}-registration`;
const TOKEN_KEY = 'token';
// A fixed non-root id, so runAsNonRoot holds whatever user the image declares.
const AGENT_UID = 65532;

/**
 * What the user applies on the workload cluster: the agent's namespace, its identity with the
 * least privilege it needs to report version and nodes, the token in a Secret, and the agent
 * itself, locked down (non-root, read-only root, no privilege escalation, no capabilities).
 */
export function registrationManifestObjects(input: ManifestInput): KubeObject[] {
  const labels = { 'app.kubernetes.io/name': AGENT_NAME, 'app.kubernetes.io/part-of': 'flotilla', 'flotilla.io/cluster-id': input.clusterId };
  const annotations = { 'flotilla.io/registration-id': input.registrationId };
  const namespaced = (name: string) => ({ name, namespace: AGENT_NAMESPACE, labels });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: AGENT_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'flotilla' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: namespaced(AGENT_NAME) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: AGENT_NAME, labels },
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { nonResourceURLs: ['/version', '/readyz'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: AGENT_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGENT_NAME },
      subjects: [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...namespaced(TOKEN_SECRET_NAME), annotations },
      type: 'Opaque',
      stringData: { [TOKEN_KEY]: input.token },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...namespaced(AGENT_NAME), annotations },
      spec: {
        // One agent: a restarted one supersedes its old tunnel session at the broker.
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': AGENT_NAME } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: AGENT_NAME,
            securityContext: { runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'agent',
                image: input.agentImage,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'FLOTILLA_CLUSTER_ID', value: input.clusterId },
                  { name: 'FLOTILLA_TUNNEL_URL', value: input.tunnelUrl },
                  { name: 'FLOTILLA_AGENT_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'FLOTILLA_REGISTRATION_TOKEN', valueFrom: { secretKeyRef: { name: TOKEN_SECRET_NAME, key: TOKEN_KEY } } },
                ],
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
                securityContext: {
                  runAsNonRoot: true,
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  capabilities: { drop: ['ALL'] },
                },
                // The only writable place, for whatever the agent caches.
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
          },
        },
      },
    },
  ];
}

/** The same objects as one multi-document YAML, ready for `kubectl apply -f -`. */
export function renderManifestYaml(objects: readonly KubeObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

export function renderRegistrationManifest(input: ManifestInput): { objects: KubeObject[]; yaml: string } {
  const objects = registrationManifestObjects(input);
  return { objects, yaml: renderManifestYaml(objects) };
}
