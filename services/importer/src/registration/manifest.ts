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
  /** PEM of a private CA that signed the tunnel URL's certificate, when the system roots do not know it. */
  tunnelCaPem?: string | null;
  agentImage: string;
}

export const AGENT_NAMESPACE = 'flotilla-system';
export const AGENT_NAME = 'flotilla-tunnel-agent';
export const REGISTRATION_SECRET_NAME = `${AGENT_NAME}-registration`;
/** Written by the agent only: its key, certificate, the tunnel's CA and address, or its "stopped" marker. */
export const CREDENTIAL_SECRET_NAME = `${AGENT_NAME}-credential`;
/** The private CA of the enrollment URL, when there is one: public, hence a ConfigMap. */
export const TUNNEL_CA_CONFIGMAP_NAME = `${AGENT_NAME}-tunnel-ca`;
const TUNNEL_CA_DIR = '/etc/flotilla/tunnel-ca';
const TOKEN_KEY = 'token';
// A fixed non-root id, so runAsNonRoot holds whatever user the image declares (the image uses it too).
const AGENT_UID = 65532;
const RBAC = 'rbac.authorization.k8s.io';

/** The groups the broker impersonates callers with (`flotilla:<role>`), and what each may do in the cluster. */
export const CALLER_GROUP_ROLES = { 'flotilla:viewer': 'view', 'flotilla:operator': 'edit', 'flotilla:admin': 'admin' } as const;
/** The importer calls as itself: it reads the version, health and nodes, nothing else. */
export const IMPORTER_USER = 'service:importer';
export const IMPORTER_ROLE = 'flotilla-importer';

/**
 * What the user applies on the workload cluster: the agent's namespace and identity, the RBAC of
 * the tunnel (least privilege: the agent may only impersonate callers and use its own two
 * Secrets; what a caller may do is decided by the cluster's RBAC for the group or user the broker
 * names), the token in a Secret, the empty Secret the agent keeps its credential in, and the
 * agent itself, locked down (non-root, read-only root, no privilege escalation, no capabilities).
 */
export function registrationManifestObjects(input: ManifestInput): KubeObject[] {
  const labels = { 'app.kubernetes.io/name': AGENT_NAME, 'app.kubernetes.io/part-of': 'flotilla', 'flotilla.io/cluster-id': input.clusterId };
  const annotations = { 'flotilla.io/registration-id': input.registrationId };
  const namespaced = (name: string) => ({ name, namespace: AGENT_NAMESPACE, labels });
  const agent = { kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE };
  const clusterBinding = (name: string, role: string, subject: { kind: 'User' | 'Group'; name: string } | typeof agent): KubeObject => ({
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [subject.kind === 'ServiceAccount' ? subject : { apiGroup: RBAC, ...subject }],
  });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: AGENT_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'flotilla' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: namespaced(AGENT_NAME) },
    {
      // The agent forwards each request as its caller: it may impersonate any user the broker
      // names (the agent itself refuses system: users), but only Flotilla's groups.
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: { name: AGENT_NAME, labels },
      rules: [
        { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] },
        { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: Object.keys(CALLER_GROUP_ROLES) },
      ],
    },
    clusterBinding(AGENT_NAME, AGENT_NAME, agent),
    {
      // Its own two Secrets and nothing else; the manifest creates both, so no create.
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: namespaced(AGENT_NAME),
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [REGISTRATION_SECRET_NAME, CREDENTIAL_SECRET_NAME], verbs: ['get', 'update', 'patch'] }],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: namespaced(AGENT_NAME),
      roleRef: { apiGroup: RBAC, kind: 'Role', name: AGENT_NAME },
      subjects: [agent],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: { name: IMPORTER_ROLE, labels },
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { nonResourceURLs: ['/version', '/readyz', '/healthz'], verbs: ['get'] },
      ],
    },
    clusterBinding(IMPORTER_ROLE, IMPORTER_ROLE, { kind: 'User', name: IMPORTER_USER }),
    // Callers through the tunnel, by their role in Flotilla: the cluster's own aggregated roles.
    ...Object.entries(CALLER_GROUP_ROLES).map(([group, role]) => clusterBinding(group.replace(':', '-'), role, { kind: 'Group', name: group })),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...namespaced(REGISTRATION_SECRET_NAME), annotations },
      type: 'Opaque',
      stringData: { [TOKEN_KEY]: input.token },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...namespaced(CREDENTIAL_SECRET_NAME), annotations: { 'flotilla.io/written-by': AGENT_NAME } },
      type: 'Opaque',
    },
    ...(input.tunnelCaPem ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: namespaced(TUNNEL_CA_CONFIGMAP_NAME), data: { 'ca.crt': input.tunnelCaPem } }] : []),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...namespaced(AGENT_NAME), annotations },
      spec: {
        // One agent: a restarted one supersedes its old tunnel session at the broker; never two
        // at once enrolling or writing the credential.
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': AGENT_NAME } },
        template: {
          // A new registration's manifest restarts the agent, so it reads the new token.
          metadata: { labels, annotations },
          spec: {
            serviceAccountName: AGENT_NAME,
            // The agent talks to the API server as itself: its token must be mounted.
            automountServiceAccountToken: true,
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
                  // Optional: the agent removes the token once it is used.
                  { name: 'FLOTILLA_REGISTRATION_TOKEN', valueFrom: { secretKeyRef: { name: REGISTRATION_SECRET_NAME, key: TOKEN_KEY, optional: true } } },
                  { name: 'FLOTILLA_REGISTRATION_SECRET', value: REGISTRATION_SECRET_NAME },
                  { name: 'FLOTILLA_CREDENTIAL_SECRET', value: CREDENTIAL_SECRET_NAME },
                  ...(input.tunnelCaPem ? [{ name: 'FLOTILLA_TUNNEL_CA_FILE', value: `${TUNNEL_CA_DIR}/ca.crt` }] : []),
                ],
                // The official Kubernetes client is most of the agent's memory (about 140 MiB resident).
                resources: { requests: { cpu: '10m', memory: '128Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
                securityContext: {
                  runAsNonRoot: true,
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  capabilities: { drop: ['ALL'] },
                },
                // The only writable place (the agent writes nothing to disk; node may).
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(input.tunnelCaPem ? [{ name: 'tunnel-ca', mountPath: TUNNEL_CA_DIR, readOnly: true }] : [])],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }, ...(input.tunnelCaPem ? [{ name: 'tunnel-ca', configMap: { name: TUNNEL_CA_CONFIGMAP_NAME } }] : [])],
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
