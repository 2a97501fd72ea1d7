import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { AGENT_NAME, AGENT_NAMESPACE, CREDENTIAL_SECRET_NAME, IMPORTER_ROLE, REGISTRATION_SECRET_NAME, renderRegistrationManifest, TUNNEL_CA_CONFIGMAP_NAME, type KubeObject } from './manifest.js';
import { RegistrationConfig } from './registration-settings.js';
import { generateToken } from './registration.js';

const { token } = generateToken();
const input = { clusterId: 'edge-a1b2c3', registrationId: '7d1f3c56-0a43-4d36-9a3e-6c1b0f2c1e11', token, tunnelUrl: 'https://tunnel.flotilla.example', agentImage: 'registry.example/flotilla/tunnel-agent:1.2.3' };

const models: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  Secret,
  ConfigMap,
  Deployment,
};

function validate(object: KubeObject): void {
  const Model = models[object.kind];
  assert.ok(Model, `no model for ${object.kind}`);
  new Model(object as never).validate();
}

function byKind(objects: KubeObject[], kind: string, name?: string): KubeObject & Record<string, never> {
  const found = objects.find((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  assert.ok(found, `${kind} ${name ?? ''} missing`);
  return found as KubeObject & Record<string, never>;
}

type Subject = { kind: string; name: string; namespace?: string; apiGroup?: string };
type Binding = KubeObject & { roleRef: { kind: string; name: string }; subjects: Subject[] };
type Container = { image: string; env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[] };
type PodTemplate = { metadata: { annotations?: Record<string, string> }; spec: { automountServiceAccountToken?: boolean; securityContext: Record<string, unknown>; containers: Container[] } };
const deploymentOf = (objects: KubeObject[]) => byKind(objects, 'Deployment') as unknown as { metadata: KubeObject['metadata']; spec: { strategy?: { type: string }; template: PodTemplate } };
const bindings = (objects: KubeObject[]) => objects.filter((object) => object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding') as Binding[];

describe('registration manifest', () => {
  const { objects, yaml } = renderRegistrationManifest(input);

  it('has the namespace, identity, RBAC, the two secrets and the agent, each valid against the Kubernetes schema', () => {
    assert.deepEqual(
      objects.map((object) => `${object.kind}/${object.metadata.name}`),
      [
        `Namespace/${AGENT_NAMESPACE}`,
        `ServiceAccount/${AGENT_NAME}`,
        `ClusterRole/${AGENT_NAME}`,
        `ClusterRoleBinding/${AGENT_NAME}`,
        `Role/${AGENT_NAME}`,
        `RoleBinding/${AGENT_NAME}`,
        `ClusterRole/${IMPORTER_ROLE}`,
        `ClusterRoleBinding/${IMPORTER_ROLE}`,
        'ClusterRoleBinding/flotilla-viewer',
        'ClusterRoleBinding/flotilla-operator',
        'ClusterRoleBinding/flotilla-admin',
        `Secret/${REGISTRATION_SECRET_NAME}`,
        `Secret/${CREDENTIAL_SECRET_NAME}`,
        `Deployment/${AGENT_NAME}`,
      ],
    );
    for (const object of objects) validate(object);
    for (const object of objects.filter((o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))) {
      assert.equal(object.metadata.namespace, AGENT_NAMESPACE, object.kind);
    }
  });

  it('parses back from the YAML to the same objects', () => {
    const documents = parseAllDocuments(yaml);
    assert.ok(Array.isArray(documents));
    for (const document of documents) assert.deepEqual(document.errors, []);
    const parsed = documents.map((document) => document.toJS() as KubeObject);
    assert.deepEqual(parsed, objects);
    for (const object of parsed) validate(object);
  });

  it('lets the agent impersonate callers (only in Flotilla\'s groups) and use its own two Secrets, nothing more', () => {
    const agent = { kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE };
    const agentBindings = bindings(objects).filter((binding) => binding.subjects.some((subject) => subject.kind === 'ServiceAccount'));
    assert.deepEqual(
      agentBindings.map((binding) => [binding.kind, binding.roleRef.kind, binding.roleRef.name, binding.subjects]),
      [
        ['ClusterRoleBinding', 'ClusterRole', AGENT_NAME, [agent]],
        ['RoleBinding', 'Role', AGENT_NAME, [agent]],
      ],
    );
    assert.deepEqual(byKind(objects, 'ClusterRole', AGENT_NAME)['rules'], [
      { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] },
      { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['flotilla:viewer', 'flotilla:operator', 'flotilla:admin'] },
    ]);
    // get/update/patch of these two by name: the manifest creates both, so no create, list or watch.
    assert.deepEqual(byKind(objects, 'Role', AGENT_NAME)['rules'], [{ apiGroups: [''], resources: ['secrets'], resourceNames: [REGISTRATION_SECRET_NAME, CREDENTIAL_SECRET_NAME], verbs: ['get', 'update', 'patch'] }]);
    for (const name of [REGISTRATION_SECRET_NAME, CREDENTIAL_SECRET_NAME]) byKind(objects, 'Secret', name);
    // What the agent used to read itself (nodes, /version, /readyz) is the importer's now, as the caller.
    assert.ok(!JSON.stringify(byKind(objects, 'ClusterRole', AGENT_NAME)).includes('nodes'));
  });

  it("binds the callers the broker impersonates: Flotilla's roles to the cluster's view, edit and admin, the importer to reading version, health and nodes", () => {
    const callers = bindings(objects)
      .filter((binding) => binding.subjects.every((subject) => subject.kind !== 'ServiceAccount'))
      .map((binding) => [binding.subjects.map((subject) => `${subject.kind}:${subject.name}:${subject.apiGroup}`).join(), binding.roleRef.name]);
    assert.deepEqual(callers, [
      ['User:service:importer:rbac.authorization.k8s.io', IMPORTER_ROLE],
      ['Group:flotilla:viewer:rbac.authorization.k8s.io', 'view'],
      ['Group:flotilla:operator:rbac.authorization.k8s.io', 'edit'],
      ['Group:flotilla:admin:rbac.authorization.k8s.io', 'admin'],
    ]);
    assert.deepEqual(byKind(objects, 'ClusterRole', IMPORTER_ROLE)['rules'], [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { nonResourceURLs: ['/version', '/readyz', '/healthz'], verbs: ['get'] },
    ]);
  });

  it('keeps the token in its Secret only (the agent may remove it once used) and gives the agent an empty Secret for its credential', () => {
    const secret = byKind(objects, 'Secret', REGISTRATION_SECRET_NAME);
    assert.deepEqual(secret['stringData'], { token });
    const credential = byKind(objects, 'Secret', CREDENTIAL_SECRET_NAME);
    assert.equal(credential['data'], undefined);
    assert.equal(credential['stringData'], undefined);
    const deployment = deploymentOf(objects);
    assert.ok(!JSON.stringify(deployment).includes(token));
    const env = deployment.spec.template.spec.containers[0]?.env;
    assert.deepEqual(env?.find((entry) => entry.name === 'FLOTILLA_REGISTRATION_TOKEN')?.valueFrom, { secretKeyRef: { name: REGISTRATION_SECRET_NAME, key: 'token', optional: true } });
    const values = Object.fromEntries((env ?? []).filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value]));
    assert.deepEqual(values, { FLOTILLA_CLUSTER_ID: input.clusterId, FLOTILLA_TUNNEL_URL: input.tunnelUrl, FLOTILLA_REGISTRATION_SECRET: REGISTRATION_SECRET_NAME, FLOTILLA_CREDENTIAL_SECRET: CREDENTIAL_SECRET_NAME });
    assert.deepEqual(env?.find((entry) => entry.name === 'FLOTILLA_AGENT_ID')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  });

  it('runs one agent at a time, restarted by a new registration (its token), with its service account token mounted', () => {
    const deployment = deploymentOf(objects);
    assert.deepEqual(deployment.spec.strategy, { type: 'Recreate' });
    assert.deepEqual(deployment.spec.template.metadata.annotations, { 'flotilla.io/registration-id': input.registrationId });
    assert.equal(deployment.spec.template.spec.automountServiceAccountToken, true);
  });

  it("names by default the agent image of this repository's agent version (flotilla/tunnel-agent:<agents/tunnel-agent version>)", () => {
    const agentPackage = JSON.parse(readFileSync(new URL('../../../../../agents/tunnel-agent/package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    assert.equal(agentPackage.name, '@flotilla/tunnel-agent');
    assert.equal(RegistrationConfig.REGISTRATION_AGENT_IMAGE.parse(undefined), `flotilla/tunnel-agent:${agentPackage.version}`);
  });

  it('runs the agent locked down: non-root, read-only root, no escalation, no capabilities, bounded resources', () => {
    type Pod = { securityContext: Record<string, unknown>; serviceAccountName: string; containers: { image: string; securityContext: Record<string, unknown>; resources: { requests: object; limits: object } }[] };
    const pod = (byKind(objects, 'Deployment') as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const container = pod.containers[0];
    assert.ok(container);
    assert.equal(container.image, input.agentImage);
    assert.equal(pod.serviceAccountName, AGENT_NAME);
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    // The uid the image runs as (its USER).
    assert.equal(pod.securityContext['runAsUser'], 65532);
    assert.deepEqual(container.securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    assert.ok(container.resources.requests && container.resources.limits);
  });

  it('would catch a broken object: the schema check is not a formality', () => {
    const deployment = structuredClone(byKind(objects, 'Deployment')) as unknown as { spec: { replicas: unknown; template: { spec: { containers: { securityContext: { runAsNonRoot: unknown } }[] } } } };
    deployment.spec.replicas = 'one';
    assert.throws(() => validate(deployment as unknown as KubeObject), /replicas/);
    const role = structuredClone(byKind(objects, 'ClusterRole', AGENT_NAME)) as unknown as { rules: { verbs?: unknown }[] };
    delete role.rules[0]?.verbs;
    assert.throws(() => validate(role as unknown as KubeObject), /verbs/);
  });

  it("gives the agent the enrollment URL's private CA, when there is one, as a mounted ConfigMap", () => {
    assert.equal(objects.find((object) => object.kind === 'ConfigMap'), undefined, 'none without a private CA');
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const withCa = renderRegistrationManifest({ ...input, tunnelCaPem: ca }).objects;
    for (const object of withCa) validate(object);
    const configMap = byKind(withCa, 'ConfigMap', TUNNEL_CA_CONFIGMAP_NAME) as unknown as { data: Record<string, string> };
    assert.equal(configMap.data['ca.crt'], ca);
    type Pod = { containers: { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; configMap?: { name: string } }[] };
    const pod = (byKind(withCa, 'Deployment') as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const file = pod.containers[0]?.env.find((variable) => variable.name === 'FLOTILLA_TUNNEL_CA_FILE')?.value;
    const mount = pod.containers[0]?.volumeMounts.find((volume) => volume.name === 'tunnel-ca');
    assert.ok(file && mount && file.startsWith(`${mount.mountPath}/`), 'the variable names a file of the mounted ConfigMap');
    assert.equal(pod.volumes.find((volume) => volume.name === 'tunnel-ca')?.configMap?.name, TUNNEL_CA_CONFIGMAP_NAME);
  });
});
