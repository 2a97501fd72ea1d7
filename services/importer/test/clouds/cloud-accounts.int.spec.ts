import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditTrail, type CredentialUse } from '@flotilla/auth';
import { CLOUD_ACCOUNT_SECRETS, cloudAccessProviders, CloudAccountsController, Secret, type CloudAccountSecrets } from '../../src/clouds/index.js';
import { eksClusterBody, eksNodegroupBody, EksStandin } from '../support/cloud-standins/eks-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';

const awsKey = { accessKeyId: 'AKIACONTROLLERTEST01', secretAccessKey: 'controller/secret+key/0123456789abcdefghij' };
const ca = '-----BEGIN CERTIFICATE-----\nMIIBcontroller\n-----END CERTIFICATE-----\n';

/** The secret store as the controller sees it, over a map (the store itself is tested with its library). */
class MapSecrets implements CloudAccountSecrets {
  constructor(private readonly secrets: Map<string, string>) {}
  async reveal(ref: string): Promise<Secret | undefined> {
    const value = this.secrets.get(ref);
    return value === undefined ? undefined : new Secret(value);
  }
}

describe('GET /api/v1/cloud-accounts/:credentialRef/clusters', () => {
  let standin: EksStandin;
  let app: INestApplication;
  let base: string;
  /** What the controller reported to the audit trail (the service's trail stores it: see cloud-import.int.spec). */
  const uses: CredentialUse[] = [];

  before(async () => {
    standin = await EksStandin.start();
    standin.identities.set(awsKey.accessKeyId, { ...awsKey, arn: 'arn:aws:iam::123456789012:user/lister', eksAllowed: true });
    standin.fixtures.push({ region: 'eu-central-1', cluster: eksClusterBody('shop', 'eu-central-1', '1.32', ca), nodegroups: [eksNodegroupBody('shop', 'eu-central-1', 'workers', 4, 'c7g.xlarge', '1.32')] });
    const secrets = new Map([
      ['aws-prod', JSON.stringify(awsKey)],
      ['aws-wrong', JSON.stringify({ ...awsKey, secretAccessKey: 'a-wrong-secret-access-key' })],
      ['api-token', 'eyJhbGciOiJSUzI1NiJ9.not-a-cloud-account'],
    ]);
    @Module({ controllers: [CloudAccountsController], providers: [...cloudAccessProviders(standinSettings({ eks: standin.url })), { provide: CLOUD_ACCOUNT_SECRETS, useValue: new MapSecrets(secrets) }, { provide: AuditTrail, useValue: { recordUse: async (use: CredentialUse) => void uses.push(use) } }] })
    class TestModule {}
    app = await NestFactory.create(TestModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/cloud-accounts`;
  });
  after(async () => {
    await app.close();
    await standin.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('lists the clusters the stored account sees in a region', async () => {
    const { status, body } = await get('/aws-prod/clusters?provider=eks&region=eu-central-1');
    assert.equal(status, 200);
    assert.deepEqual(body, {
      items: [
        {
          provider: 'eks',
          name: 'shop',
          location: 'eu-central-1',
          version: '1.32',
          status: 'ACTIVE',
          endpoint: 'https://SHOP0A1B2C3D4E5F.gr7.eu-central-1.eks.amazonaws.com',
          nodeGroups: [{ name: 'workers', nodeCount: 4, instanceType: 'c7g.xlarge', version: '1.32' }],
        },
      ],
    });
  });

  it('names a missing location field and an unknown provider', async () => {
    const missing = await get('/aws-prod/clusters?provider=eks');
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body['errors'], [{ field: 'region', message: 'required for eks' }]);
    const unknown = await get('/aws-prod/clusters?provider=openstack&region=x');
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body['errors']), /provider/);
  });

  it('answers 404 for an unknown credential and 422 for one the cloud refuses or that is no cloud account', async () => {
    assert.equal((await get('/nobody/clusters?provider=eks&region=eu-central-1')).status, 404);
    const refused = await get('/aws-wrong/clusters?provider=eks&region=eu-central-1');
    assert.equal(refused.status, 422);
    assert.equal(refused.body['code'], 'cloud-auth-failed');
    assert.ok(!JSON.stringify(refused.body).includes('a-wrong-secret-access-key'));
    const notAnAccount = await get('/api-token/clusters?provider=eks&region=eu-central-1');
    assert.equal(notAnAccount.status, 422);
    assert.equal(notAnAccount.body['code'], 'cloud-account-invalid');
    assert.ok(!JSON.stringify(notAnAccount.body).includes('not-a-cloud-account'));
  });

  it('reports every use of a stored account, failed ones included, without the secret', async () => {
    uses.length = 0;
    assert.equal((await get('/aws-prod/clusters?provider=eks&region=eu-central-1')).status, 200);
    assert.equal((await get('/aws-wrong/clusters?provider=eks&region=eu-central-1')).status, 422);
    assert.equal((await get('/nobody/clusters?provider=eks&region=eu-central-1')).status, 404);
    assert.deepEqual(
      uses.map((use) => [use.what, use.ok, use.reason?.split(':')[0]]),
      [
        ['cloud-account', true, 'cloud account "aws-prod"'],
        ['cloud-account', false, 'cloud account "aws-wrong"'],
      ],
    );
    assert.ok(!JSON.stringify(uses).includes(awsKey.secretAccessKey) && !JSON.stringify(uses).includes('a-wrong-secret-access-key'));
  });
});
