import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateJoinSecrets } from '../bootstrap/join-secrets.js';
import { decideCapacity, RegisterManagementClusterBody, UpdateManagementClusterBody } from './management-cluster.js';

// A real CA certificate and key (the join secrets' CA serves as one).
const { ca } = await generateJoinSecrets('mgmt-eu-1');
const credentials = { certificateAuthority: ca.certificatePem, token: 'service-account-token' };

const valid = {
  name: 'mgmt-eu-1',
  apiEndpoint: 'https://mgmt-eu-1.example.com:6443',
  ingressDomain: 'hcp.eu-1.example.com',
  credentials,
  capacity: { cpuMillicores: 64_000, memoryBytes: 256 * 1024 ** 3, maxControlPlanes: 100 },
};

function fieldsOf(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return (result.error?.issues ?? []).map((issue) => issue.path.map(String).join('.'));
}

describe('management cluster requests', () => {
  it('a valid registration gets its defaults', () => {
    const parsed = RegisterManagementClusterBody.parse(valid);
    assert.deepEqual(parsed, { ...valid, dataStore: 'default', labels: {}, state: 'active' });
  });

  const bad: [string, Record<string, unknown>, string[]][] = [
    ['a name that is not a DNS label', { ...valid, name: 'Mgmt_EU' }, ['name']],
    ['a plain http endpoint', { ...valid, apiEndpoint: 'http://mgmt.example.com:6443' }, ['apiEndpoint']],
    ['credentials in the endpoint', { ...valid, apiEndpoint: 'https://admin:secret@mgmt.example.com' }, ['apiEndpoint']],
    ['an endpoint that is no URL at all, and too long', { ...valid, apiEndpoint: 'x'.repeat(5000) }, ['apiEndpoint', 'apiEndpoint']],
    ['an ingress domain with upper case', { ...valid, ingressDomain: 'HCP.example.com' }, ['ingressDomain']],
    ['zero cpu', { ...valid, capacity: { ...valid.capacity, cpuMillicores: 0 } }, ['capacity.cpuMillicores']],
    ['fractional memory', { ...valid, capacity: { ...valid.capacity, memoryBytes: 1.5 } }, ['capacity.memoryBytes']],
    ['memory as a string', { ...valid, capacity: { ...valid.capacity, memoryBytes: '64Gi' } }, ['capacity.memoryBytes']],
    ['no capacity', { ...valid, capacity: undefined }, ['capacity']],
    ['an unknown state', { ...valid, state: 'draining' }, ['state']],
    ['an unknown field', { ...valid, region: 'eu' }, ['']],
    ['no credentials', { ...valid, credentials: undefined }, ['credentials']],
    ['a CA that is not a certificate', { ...valid, credentials: { ...credentials, certificateAuthority: 'CA' } }, ['credentials.certificateAuthority']],
    ['neither a token nor a client certificate', { ...valid, credentials: { certificateAuthority: ca.certificatePem } }, ['credentials.token']],
    ['a token and a client certificate', { ...valid, credentials: { ...credentials, clientCertificate: ca.certificatePem, clientKey: ca.privateKeyPem } }, ['credentials.token']],
    ['a client certificate without its key', { ...valid, credentials: { certificateAuthority: ca.certificatePem, clientCertificate: ca.certificatePem } }, ['credentials.clientKey']],
    ['a client key that is not a key', { ...valid, credentials: { certificateAuthority: ca.certificatePem, clientCertificate: ca.certificatePem, clientKey: 'key' } }, ['credentials.clientKey']],
    ['a token with spaces', { ...valid, credentials: { ...credentials, token: 'two words' } }, ['credentials.token']],
  ];
  for (const [what, body, fields] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      assert.deepEqual(fieldsOf(RegisterManagementClusterBody.safeParse(body)), fields);
    });
  }

  it('a client certificate and key are credentials too', () => {
    const body = { ...valid, credentials: { certificateAuthority: ca.certificatePem, clientCertificate: ca.certificatePem, clientKey: ca.privateKeyPem } };
    assert.equal(RegisterManagementClusterBody.safeParse(body).success, true);
  });

  it('an update needs at least one change', () => {
    assert.equal(UpdateManagementClusterBody.safeParse({}).success, false);
    assert.deepEqual(UpdateManagementClusterBody.parse({ state: 'cordoned' }), { state: 'cordoned' });
    assert.deepEqual(UpdateManagementClusterBody.parse({ credentials }), { credentials }, 'new credentials alone');
    assert.deepEqual(fieldsOf(UpdateManagementClusterBody.safeParse({ capacity: { maxControlPlanes: -1 } })), ['capacity.maxControlPlanes']);
  });
});

describe('capacity changes', () => {
  const current = { cpuMillicores: 4000, memoryBytes: 8000, maxControlPlanes: 4 };
  const used = { cpuMillicores: 3000, memoryBytes: 6000, controlPlanes: 3 };

  it('down to exactly what is reserved, or up: allowed; fields not given stay', () => {
    assert.deepEqual(decideCapacity(current, { cpuMillicores: 3000 }, used), { ok: true, capacity: { cpuMillicores: 3000, memoryBytes: 8000, maxControlPlanes: 4 } });
    assert.deepEqual(decideCapacity(current, { memoryBytes: 16000, maxControlPlanes: 3 }, used), { ok: true, capacity: { cpuMillicores: 4000, memoryBytes: 16000, maxControlPlanes: 3 } });
  });

  it('below what is reserved: refused, with every number', () => {
    assert.deepEqual(decideCapacity(current, { cpuMillicores: 2999, maxControlPlanes: 2 }, used), {
      ok: false,
      shortfalls: [
        { field: 'capacity.cpuMillicores', requested: 2999, reserved: 3000 },
        { field: 'capacity.maxControlPlanes', requested: 2, reserved: 3 },
      ],
      message: 'capacity below what hosted control planes hold: capacity.cpuMillicores 2999 < 3000 reserved; capacity.maxControlPlanes 2 < 3 reserved',
    });
  });
});
