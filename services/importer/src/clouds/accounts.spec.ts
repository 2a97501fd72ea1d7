import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloudClusterRefFor, cloudLocationFor, parseCloudAccount } from './accounts.js';
import { CloudError } from './errors.js';
import { Secret } from './secret.js';

const secret = (value: unknown) => new Secret(typeof value === 'string' ? value : JSON.stringify(value));

function thrown(run: () => unknown): CloudError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CloudError);
    return error;
  }
  assert.fail('expected a CloudError');
}

describe('cloud accounts', () => {
  it('opens each provider’s account document', () => {
    assert.deepEqual(parseCloudAccount('eks', secret({ accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 's3cr3t' })), {
      provider: 'eks',
      account: { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 's3cr3t' },
    });
    assert.equal(parseCloudAccount('aks', secret({ tenantId: 't', clientId: 'c', clientSecret: 's' })).provider, 'aks');
    const gcp = parseCloudAccount('gke', secret({ type: 'service_account', client_email: 'sa@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n', project_id: 'p' }));
    assert.equal(gcp.provider, 'gke');
  });

  it('names the bad fields and never repeats the secret', () => {
    const notJson = thrown(() => parseCloudAccount('eks', secret('hunter2-plain-token')));
    assert.equal(notJson.code, 'cloud-account-invalid');
    assert.ok(!notJson.message.includes('hunter2'));

    const missing = thrown(() => parseCloudAccount('aks', secret({ tenantId: 't', clientId: 'c', password: 'hunter2' })));
    assert.equal(missing.field, 'clientSecret');
    assert.match(missing.message, /clientSecret/);
    assert.ok(!missing.message.includes('hunter2'));

    const wrongKind = thrown(() => parseCloudAccount('eks', secret({ type: 'service_account', client_email: 'x@y.z', private_key: 'hunter2' })));
    assert.match(wrongKind.message, /accessKeyId/);
    assert.ok(!wrongKind.message.includes('hunter2'));

    const badKeyId = thrown(() => parseCloudAccount('eks', secret({ accessKeyId: 'hunter2', secretAccessKey: 'x' })));
    assert.equal(badKeyId.field, 'accessKeyId');
    assert.ok(!badKeyId.message.includes('hunter2'));
  });

  it('checks the location each provider needs, naming the missing field', () => {
    assert.deepEqual(cloudLocationFor('eks', { region: 'eu-west-1' }), { provider: 'eks', region: 'eu-west-1' });
    assert.deepEqual(cloudLocationFor('aks', { subscriptionId: 's' }), { provider: 'aks', subscriptionId: 's' });
    assert.deepEqual(cloudLocationFor('gke', { projectId: 'p', location: 'europe-west1' }), { provider: 'gke', projectId: 'p', location: 'europe-west1' });
    assert.equal(thrown(() => cloudLocationFor('eks', {})).field, 'region');
    assert.equal(thrown(() => cloudLocationFor('gke', { location: 'x' })).field, 'projectId');

    assert.deepEqual(cloudClusterRefFor('aks', { clusterName: 'c', subscriptionId: 's', resourceGroup: 'rg' }), { provider: 'aks', clusterName: 'c', subscriptionId: 's', resourceGroup: 'rg' });
    assert.equal(thrown(() => cloudClusterRefFor('aks', { clusterName: 'c', subscriptionId: 's' })).field, 'resourceGroup');
    assert.equal(thrown(() => cloudClusterRefFor('gke', { clusterName: 'c', projectId: 'p' })).field, 'location');
    assert.equal(thrown(() => cloudClusterRefFor('eks', { region: 'r' })).field, 'clusterName');
  });

  it('keeps a secret out of strings, JSON and inspection', async () => {
    const { inspect } = await import('node:util');
    const value = new Secret('hunter2');
    assert.equal(`${String(value)}|${JSON.stringify({ value })}|${inspect(value)}`, '[redacted]|{"value":"[redacted]"}|[redacted]');
    assert.equal(value.revealString(), 'hunter2');
    assert.equal(value.reveal().toString('utf8'), 'hunter2');
  });
});
