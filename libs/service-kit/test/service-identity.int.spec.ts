// A service calls another service's HTTP API as itself: the importer's own token passes the
// tunnel broker's guard as service:importer with its role and nothing more; a token signed with
// a key published as the importer's but claiming anyone else, or a higher role, is refused; an
// expired or withdrawn key stops verifying; a service not in SERVICE_ROLES has no identity.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { Access, AuthBucket, Caller, generateSigningKey, ServiceIdentity, ServiceIdentityError, signToken, type Principal, type PublishedServiceKey, type Role, type SigningKey } from '@flotilla/auth';
import type { ServiceName } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import type { ServiceDefinition } from '../src/bootstrap.js';
import { serviceConfigSchema } from '../src/config.js';
import { ServiceKitModule } from '../src/service-kit.module.js';
import { startTestService, type TestService } from '../src/testing/index.js';

const Config = serviceConfigSchema(0, {});

@Controller('api/v1/probe')
class ProbeController {
  @Get('read')
  @Access('viewer')
  read(@Caller() caller: Principal): Principal {
    return caller;
  }

  @Get('change')
  @Access('operator')
  change(@Caller() caller: Principal): Principal {
    return caller;
  }
}

function definition(name: ServiceName): ServiceDefinition<typeof Config> {
  @Module({})
  class ProbeServiceModule {
    static register(config: ReturnType<typeof Config.parse>): DynamicModule {
      return { module: ProbeServiceModule, imports: [ServiceKitModule.forRoot({ service: name, config, migrations: [], entities: [] })], controllers: [ProbeController] };
    }
  }
  return { name, config: Config, module: (config) => ProbeServiceModule.register(config) };
}

describe('service identity: one service calls another as itself', { timeout: 120_000 }, () => {
  let importer: TestService;
  let broker: TestService;
  let bus: BusConnection;
  let bucket: AuthBucket;

  const call = async (path: string, token: string): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> => {
    const response = await fetch(`${broker.url}/api/v1/probe/${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, challenge: response.headers.get('www-authenticate') };
  };
  /** A key published as one of the importer's replicas, as a compromised importer could. */
  const publishAsImporter = async (replica: string, expiresAt: Date): Promise<SigningKey> => {
    const key = await generateSigningKey();
    await bucket.publishServiceKey('importer', replica, { ...(key.publicJwk as PublishedServiceKey), expiresAt: expiresAt.toISOString() });
    return key;
  };
  const signed = async (key: SigningKey, subject: string, role: Role): Promise<string> =>
    (await signToken(key, { subject, role, expiresAt: new Date(Date.now() + 5 * 60_000) })).token;

  before(async () => {
    importer = await startTestService(definition('importer'));
    // No clock skew tolerated, so a key's expiry shows at once.
    broker = await startTestService(definition('tunnel-broker'), { BUS_PREFIX: importer.env['BUS_PREFIX']!, AUTH_CLOCK_TOLERANCE_S: '0' });
    bus = await BusConnection.open(TEST_NATS_URL, 'service-identity-test');
    bucket = await AuthBucket.open(bus.nc, { prefix: importer.env['BUS_PREFIX']! });
  });

  after(async () => {
    await broker?.dispose();
    await importer?.dispose();
    await bus?.drain();
  });

  it("passes the other service's guard as service:importer, with the importer's role and no more", async () => {
    const identity = importer.app.get(ServiceIdentity);
    assert.equal(identity.subject, 'service:importer');
    const token = await identity.token();
    const read = await call('read', token);
    assert.equal(read.status, 200);
    assert.deepEqual({ subject: read.body['subject'], role: read.body['role'], issuer: read.body['issuer'] }, { subject: 'service:importer', role: 'viewer', issuer: 'flotilla' });
    const change = await call('change', token);
    assert.equal(change.status, 403);
    assert.match(String(change.body['message']), /needs the operator role; service:importer has viewer/);
  });

  it("refuses a token signed with the importer's key for anyone else, or above its role", async () => {
    const key = await publishAsImporter('rogue', new Date(Date.now() + 3_600_000));
    await eventually(async () => ((await call('read', await signed(key, 'service:importer', 'viewer'))).status === 200 ? true : undefined), 10_000, 'the rogue key to be known');
    const cases: [string, Role, RegExp][] = [
      ['alice', 'viewer', /a service key signs only for its own service: this one for service:importer/],
      ['service:inventory', 'viewer', /signs only for its own service/],
      ['service:importer', 'operator', /service:importer may act at most as viewer, not operator/],
      ['service:importer', 'admin', /at most as viewer/],
    ];
    for (const [subject, role, reason] of cases) {
      const answer = await call('read', await signed(key, subject, role));
      assert.equal(answer.status, 401, `${subject} as ${role}`);
      assert.match(String(answer.body['message']), reason);
      assert.match(answer.challenge ?? '', /^Bearer realm="flotilla", error="invalid_token"/);
    }
    await bucket.withdrawServiceKey('importer', 'rogue');
  });

  it('stops verifying when the key expires or is withdrawn', async () => {
    const key = await publishAsImporter('short-lived', new Date(Date.now() + 3_000));
    const token = await signed(key, 'service:importer', 'viewer');
    await eventually(async () => ((await call('read', token)).status === 200 ? true : undefined), 2_500, 'the short-lived key to be known');
    await eventually(async () => {
      const answer = await call('read', token);
      return answer.status === 401 && /expired service key/.test(String(answer.body['message'])) ? true : undefined;
    }, 10_000, 'the expired key to stop verifying');

    // The importer stops: its replica's key is withdrawn and the tokens it signed stop verifying.
    const identity = importer.app.get(ServiceIdentity);
    const replicaKey = `service-keys.importer.${identity.replica}`;
    const own = await identity.token();
    assert.equal((await call('read', own)).status, 200);
    await importer.dispose();
    assert.equal((await bucket.serviceKeys('importer')).some(({ replica }) => `service-keys.importer.${replica}` === replicaKey), false, 'withdrawn from the bucket');
    await eventually(async () => {
      const answer = await call('read', own);
      return answer.status === 401 && /withdrawn service key/.test(String(answer.body['message'])) ? true : undefined;
    }, 10_000, "the stopped importer's token to stop verifying");
  });

  it('gives a service without a role in SERVICE_ROLES no identity, with a clear error', async () => {
    const identity = broker.app.get(ServiceIdentity);
    assert.equal(identity.available, false);
    await assert.rejects(identity.token(), (error: Error) => error instanceof ServiceIdentityError && /tunnel-broker has no service identity/.test(error.message));
    assert.deepEqual(await bucket.serviceKeys('tunnel-broker'), []);
  });
});
