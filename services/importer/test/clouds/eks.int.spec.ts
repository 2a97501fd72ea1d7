import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freePort } from '@flotilla/messaging/testing';
import type { AwsAccount } from '../../src/clouds/accounts.js';
import { CloudError } from '../../src/clouds/errors.js';
import { EksProvider } from '../../src/clouds/eks/eks-provider.js';
import { eksClusterBody, eksNodegroupBody, EksStandin } from '../support/cloud-standins/eks-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { testTls } from '../support/cloud-standins/test-tls.js';

const account: AwsAccount = { accessKeyId: 'AKIAIMPORTERTEST0001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYIMPORTERKEY' };
const clusterCa = '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n';

async function rejection(promise: Promise<unknown>): Promise<CloudError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('EKS through @aws-sdk/client-eks against an EKS API stand-in', () => {
  let standin: EksStandin;
  let eks: EksProvider;

  before(async () => {
    testTls();
    standin = await EksStandin.start();
    eks = new EksProvider(standinSettings({ eks: standin.url }));
  });
  after(async () => standin.close());

  beforeEach(() => {
    standin.identities.clear();
    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    standin.fixtures.length = 0;
    standin.fixtures.push(
      {
        region: 'eu-west-1',
        cluster: eksClusterBody('prod', 'eu-west-1', '1.31', clusterCa),
        nodegroups: [eksNodegroupBody('prod', 'eu-west-1', 'system', 3, 'm6i.large', '1.31'), eksNodegroupBody('prod', 'eu-west-1', 'batch', 5, null, '1.30')],
      },
      { region: 'eu-west-1', cluster: eksClusterBody('staging', 'eu-west-1', '1.30', clusterCa, 'UPDATING'), nodegroups: [] },
      { region: 'us-east-1', cluster: eksClusterBody('elsewhere', 'us-east-1', '1.29', clusterCa), nodegroups: [] },
    );
    standin.pageSize = 1;
    standin.throttleNext = 0;
    standin.signedRegions.length = 0;
  });

  it('lists the clusters of a region with their node groups, following the pages', async () => {
    const clusters = await eks.listClusters(account, { provider: 'eks', region: 'eu-west-1' });
    assert.deepEqual(
      clusters.map(({ name, version, status, location }) => ({ name, version, status, location })),
      [
        { name: 'prod', version: '1.31', status: 'ACTIVE', location: 'eu-west-1' },
        { name: 'staging', version: '1.30', status: 'UPDATING', location: 'eu-west-1' },
      ],
    );
    assert.equal(clusters[0]?.endpoint, 'https://PROD0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com');
    assert.deepEqual(clusters[0]?.nodeGroups, [
      { name: 'system', nodeCount: 3, instanceType: 'm6i.large', version: '1.31' },
      { name: 'batch', nodeCount: 5, instanceType: null, version: '1.30' },
    ]);
    assert.deepEqual(clusters[1]?.nodeGroups, []);
    // Signed for the region asked (the credential scope), and pages followed with nextToken.
    assert.ok(standin.signedRegions.every((region) => region === 'eu-west-1'));
    assert.equal(standin.server.calls.filter((call) => call === 'GET /clusters').length, 2);
  });

  it('describes one cluster: version and node groups', async () => {
    const cluster = await eks.describeCluster(account, { provider: 'eks', region: 'eu-west-1', clusterName: 'prod' });
    assert.equal(cluster.version, '1.31');
    assert.deepEqual(cluster.nodeGroups.map((group) => group.name), ['system', 'batch']);
  });

  it('gives API access: endpoint, CA and a k8s-aws-v1 token that STS accepts for this cluster only', async () => {
    const started = Date.now();
    const access = await eks.apiAccess(account, { provider: 'eks', region: 'eu-west-1', clusterName: 'prod' });
    assert.equal(access.apiServer, 'https://PROD0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com');
    assert.equal(access.caCertificatePem, clusterCa);
    assert.equal(access.cloudVersion, '1.31');
    assert.equal(access.nodeGroups.length, 2);
    assert.equal(access.auth.kind, 'bearer-token');
    assert.ok(access.auth.kind === 'bearer-token');
    const token = access.auth.token.revealString();
    assert.match(token, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    // The secret never shows by accident.
    assert.equal(String(access.auth.token), '[redacted]');
    assert.ok(!inspect(access).includes(token) && !JSON.stringify(access).includes(token));

    const verified = await standin.authenticate(token, 'prod');
    assert.ok('arn' in verified, 'error' in verified ? verified.error : '');
    assert.equal(verified.arn, 'arn:aws:iam::123456789012:user/flotilla-importer');
    const query = verified.url.searchParams;
    assert.equal(query.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.match(query.get('X-Amz-Credential') ?? '', /^AKIAIMPORTERTEST0001\/\d{8}\/eu-west-1\/sts\/aws4_request$/);
    assert.equal(query.get('X-Amz-Expires'), '60');
    assert.deepEqual(verified.parts.signedHeaders, ['host', 'x-k8s-aws-id']);
    assert.equal(query.get('Action'), 'GetCallerIdentity');

    // The cluster name is signed in: the same token replayed for another cluster fails at STS.
    const elsewhere = await standin.authenticate(token, 'staging');
    assert.ok('error' in elsewhere);
    assert.match(elsewhere.error, /SignatureDoesNotMatch/);

    const expiresAt = Date.parse(access.expiresAt ?? '');
    assert.ok(expiresAt >= started + 13 * 60_000 && expiresAt <= Date.now() + 15 * 60_000, `expiresAt ${access.expiresAt}`);
  });

  it('signs temporary credentials with their session token', async () => {
    const temporary: AwsAccount = { ...account, sessionToken: 'FwoGZXIvYXdzEPT//////////wEaDEXAMPLETOKEN' };
    const access = await eks.apiAccess(temporary, { provider: 'eks', region: 'eu-west-1', clusterName: 'prod' });
    assert.ok(access.auth.kind === 'bearer-token');
    const verified = await standin.authenticate(access.auth.token.revealString(), 'prod');
    assert.ok('arn' in verified, 'error' in verified ? verified.error : '');
    assert.equal(verified.url.searchParams.get('X-Amz-Security-Token'), temporary.sessionToken);
  });

  it('names what went wrong, never the secret key', async () => {
    const missing = await rejection(eks.describeCluster(account, { provider: 'eks', region: 'eu-west-1', clusterName: 'nope' }));
    assert.equal(missing.code, 'cloud-cluster-not-found');
    assert.match(missing.message, /DescribeCluster "nope"/);

    // Only in another region.
    assert.equal((await rejection(eks.apiAccess(account, { provider: 'eks', region: 'eu-west-1', clusterName: 'elsewhere' }))).code, 'cloud-cluster-not-found');

    const wrongSecret = await rejection(eks.listClusters({ ...account, secretAccessKey: 'not-the-secret-key-at-all' }, { provider: 'eks', region: 'eu-west-1' }));
    assert.equal(wrongSecret.code, 'cloud-auth-failed');
    assert.ok(!wrongSecret.message.includes('not-the-secret-key-at-all'));

    const unknownKey = await rejection(eks.listClusters({ ...account, accessKeyId: 'AKIAUNKNOWNKEY000000' }, { provider: 'eks', region: 'eu-west-1' }));
    assert.equal(unknownKey.code, 'cloud-auth-failed');

    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/readonly', eksAllowed: false });
    assert.equal((await rejection(eks.listClusters(account, { provider: 'eks', region: 'eu-west-1' }))).code, 'cloud-access-denied');

    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    standin.throttleNext = 5;
    assert.equal((await rejection(eks.listClusters(account, { provider: 'eks', region: 'eu-west-1' }))).code, 'cloud-throttled');

    for (const error of [missing, wrongSecret, unknownKey]) assert.ok(!error.message.includes(account.secretAccessKey));
  });

  it('retries a throttled call when allowed more than one attempt', async () => {
    const patient = new EksProvider({ ...standinSettings({ eks: standin.url }), maxAttempts: 3 });
    standin.throttleNext = 1;
    const cluster = await patient.describeCluster(account, { provider: 'eks', region: 'eu-west-1', clusterName: 'staging' });
    assert.equal(cluster.name, 'staging');
    assert.equal(standin.throttleNext, 0);
  });

  it('reports an API that does not answer as cloud-unreachable', async () => {
    const port = await freePort();
    const nowhere = new EksProvider(standinSettings({ eks: `https://127.0.0.1:${port}` }));
    assert.equal((await rejection(nowhere.listClusters(account, { provider: 'eks', region: 'eu-west-1' }))).code, 'cloud-unreachable');
  });
});
