import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, Secret, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { AGENT_NAME, AGENT_NAMESPACE, renderRegistrationManifest, type KubeObject } from './manifest.js';
import { generateToken } from './registration.js';

const { token } = generateToken();
const input = { clusterId: 'edge-a1b2c3', registrationId: '7d1f3c56-0a43-4d36-9a3e-6c1b0f2c1e11', token, tunnelUrl: 'https://tunnel.flotilla.example', agentImage: 'registry.example/flotilla/tunnel-agent:1.2.3' };

const models: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  Secret,
  Deployment,
};

function validate(object: KubeObject): void {
  const Model = models[object.kind];
  assert.ok(Model, `no model for ${object.kind}`);
  new Model(object as never).validate();
}

function byKind(objects: KubeObject[], kind: string): KubeObject & Record<string, never> {
  const found = objects.find((object) => object.kind === kind);
  assert.ok(found, `${kind} missing`);
  return found as KubeObject & Record<string, never>;
}

describe('registration manifest', () => {
  const { objects, yaml } = renderRegistrationManifest(input);

  it('has the namespace, identity, role, binding, token secret and agent, each valid against the Kubernetes schema', () => {
    assert.deepEqual(
      objects.map((object) => object.kind),
      ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret', 'Deployment'],
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

  it('grants only what the agent needs to report version and nodes', () => {
    const role = byKind(objects, 'ClusterRole');
    assert.deepEqual(role['rules'], [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { nonResourceURLs: ['/version', '/readyz'], verbs: ['get'] },
    ]);
    const binding = byKind(objects, 'ClusterRoleBinding');
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace: AGENT_NAMESPACE }]);
  });

  it('keeps the token in the Secret only; the agent reads it from there', () => {
    const secret = byKind(objects, 'Secret');
    assert.deepEqual(secret['stringData'], { token });
    const deployment = JSON.stringify(byKind(objects, 'Deployment'));
    assert.ok(!deployment.includes(token));
    const env = (byKind(objects, 'Deployment') as unknown as { spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } } }).spec.template.spec.containers[0]?.env;
    assert.deepEqual(env?.find((entry) => entry.name === 'FLOTILLA_REGISTRATION_TOKEN')?.valueFrom, { secretKeyRef: { name: secret.metadata.name, key: 'token' } });
    assert.equal(env?.find((entry) => entry.name === 'FLOTILLA_TUNNEL_URL')?.value, input.tunnelUrl);
    assert.equal(env?.find((entry) => entry.name === 'FLOTILLA_CLUSTER_ID')?.value, input.clusterId);
  });

  it('runs the agent locked down: non-root, read-only root, no escalation, no capabilities, bounded resources', () => {
    type Pod = { securityContext: Record<string, unknown>; serviceAccountName: string; containers: { image: string; securityContext: Record<string, unknown>; resources: { requests: object; limits: object } }[] };
    const pod = (byKind(objects, 'Deployment') as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const container = pod.containers[0];
    assert.ok(container);
    assert.equal(container.image, input.agentImage);
    assert.equal(pod.serviceAccountName, AGENT_NAME);
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    assert.deepEqual(container.securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    assert.ok(container.resources.requests && container.resources.limits);
  });

  it('would catch a broken object: the schema check is not a formality', () => {
    const deployment = structuredClone(byKind(objects, 'Deployment')) as unknown as { spec: { replicas: unknown; template: { spec: { containers: { securityContext: { runAsNonRoot: unknown } }[] } } } };
    deployment.spec.replicas = 'one';
    assert.throws(() => validate(deployment as unknown as KubeObject), /replicas/);
    const role = structuredClone(byKind(objects, 'ClusterRole')) as unknown as { rules: { verbs?: unknown }[] };
    delete role.rules[0]?.verbs;
    assert.throws(() => validate(role as unknown as KubeObject), /verbs/);
  });
});
