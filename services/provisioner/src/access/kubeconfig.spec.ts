import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { generateJoinSecrets } from '../bootstrap/join-secrets.js';
import { issueClientCertificate } from './client-certificate.js';
import { certificateGroups, KubeconfigQuery, renderKubeconfig } from './kubeconfig.js';
import { KubeconfigRefusal, kubeconfigServer } from './kubeconfig-issuer.js';

const running = { id: 'c1', model: 'platform-provisioned', phase: 'Running', apiServerEndpoint: '198.18.0.1:6443' } as const;

function refusalOf(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return error instanceof KubeconfigRefusal ? error.code : String(error);
  }
}

describe('kubeconfigs of built clusters', () => {
  it('a client certificate signed by the cluster CA: CN the caller, O the groups, client auth only, for the TTL', async () => {
    const { ca } = await generateJoinSecrets('c1');
    const now = new Date('2026-03-01T10:00:00Z');
    const issued = await issueClientCertificate(ca, { user: 'alice@example.com', groups: ['flotilla:operator'] }, now, 3_600_000);
    const certificate = new X509Certificate(issued.certificatePem);
    assert.ok(certificate.verify(new X509Certificate(ca.certificatePem).publicKey), 'signed by the cluster CA');
    assert.ok(certificate.checkIssued(new X509Certificate(ca.certificatePem)));
    assert.equal(certificate.subject, 'CN=alice@example.com\nO=flotilla:operator');
    assert.equal(certificate.ca, false);
    assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(new Date(certificate.validTo).toISOString(), '2026-03-01T11:00:00.000Z');
    assert.ok(new Date(certificate.validFrom).getTime() < now.getTime(), 'valid from a little before now (clock skew)');
    assert.equal(certificate.serialNumber.toLowerCase().replace(/^0+/, ''), issued.serial.replace(/^0+/, ''));
    assert.ok(certificate.checkPrivateKey(createPrivateKey(issued.privateKeyPem)), 'the key is the certificate\'s');
    const other = await issueClientCertificate(ca, { user: 'alice@example.com', groups: [] }, now, 3_600_000);
    assert.notEqual(other.privateKeyPem, issued.privateKeyPem, 'a fresh key every time');
  });

  it('least privilege: operators get flotilla:operator; admins flotilla:admin and kubeadm:cluster-admins, never system:masters; viewers nothing', () => {
    assert.deepEqual(certificateGroups('operator'), ['flotilla:operator']);
    assert.deepEqual(certificateGroups('admin'), ['flotilla:admin', 'kubeadm:cluster-admins']);
    assert.deepEqual(certificateGroups('viewer'), []);
  });

  it('ttl: 1h by default, 5m to 24h, written as 600s, 30m or 2h', () => {
    assert.equal(KubeconfigQuery.parse({}).ttl, 3_600_000);
    assert.equal(KubeconfigQuery.parse({ ttl: '30m' }).ttl, 1_800_000);
    assert.equal(KubeconfigQuery.parse({ ttl: '600s' }).ttl, 600_000);
    assert.equal(KubeconfigQuery.parse({ ttl: '24h' }).ttl, 86_400_000);
    for (const ttl of ['4m', '25h', '1d', '-1h', '1.5h', 'h', '0h', '']) assert.equal(KubeconfigQuery.safeParse({ ttl }).success, false, ttl);
  });

  it('the server is the cluster\'s endpoint; a cluster not Running, without an endpoint, or hosted gets none', () => {
    assert.equal(kubeconfigServer(running), 'https://198.18.0.1:6443');
    assert.equal(kubeconfigServer({ ...running, model: 'user-provisioned', apiServerEndpoint: '[fd00::100]:6443' }), 'https://[fd00::100]:6443');
    assert.equal(refusalOf(() => kubeconfigServer({ ...running, phase: 'Provisioning' })), 'cluster-not-running');
    assert.equal(refusalOf(() => kubeconfigServer({ ...running, phase: 'Deleted' })), 'cluster-not-running');
    assert.equal(refusalOf(() => kubeconfigServer({ ...running, apiServerEndpoint: null })), 'no-api-endpoint');
    assert.equal(kubeconfigServer({ ...running, model: 'hosted-control-plane' }), kubeconfigServer(running), 'a hosted control plane: the same rules, at its TenantControlPlane\'s endpoint');
  });

  it('renders one cluster, user and context, named after the cluster, with the data inline', () => {
    const document = parse(renderKubeconfig({ clusterId: 'c1', server: 'https://198.18.0.1:6443', caCertificatePem: 'CA', user: 'alice', certificatePem: 'CERT', privateKeyPem: 'KEY' })) as Record<string, unknown>;
    assert.deepEqual(document, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c1', cluster: { server: 'https://198.18.0.1:6443', 'certificate-authority-data': 'Q0E=' } }],
      users: [{ name: 'alice@c1', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } }],
      contexts: [{ name: 'c1', context: { cluster: 'c1', user: 'alice@c1' } }],
      'current-context': 'c1',
      preferences: {},
    });
  });
});
