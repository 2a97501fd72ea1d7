import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module, type DynamicModule } from '@nestjs/common';
import { eventually, freePort, TcpProxy } from '@flotilla/messaging/testing';
import { serviceConfigSchema } from '../src/config.js';
import { ServiceKitModule } from '../src/service-kit.module.js';
import { OwnNats } from './support/own-nats.js';
import { startTestService, type TestService } from '../src/testing/index.js';

@Module({})
class EmptyServiceModule {
  static register(config: ReturnType<typeof EmptyConfig.parse>): DynamicModule {
    return { module: EmptyServiceModule, imports: [ServiceKitModule.forRoot({ service: 'tunnel-broker', config, migrations: [], entities: [] })] };
  }
}
const EmptyConfig = serviceConfigSchema(0, {});

describe('readiness follows PostgreSQL and NATS, without a restart', { timeout: 120_000 }, () => {
  let nats: OwnNats;
  let postgres: TcpProxy;
  let service: TestService;

  before(async () => {
    nats = new OwnNats(await freePort());
    await nats.start();
    // PostgreSQL behind a proxy the test can cut, as a network partition would.
    postgres = await TcpProxy.start(5432);
    service = await startTestService(
      { name: 'tunnel-broker', config: EmptyConfig, module: (config) => EmptyServiceModule.register(config) },
      { NATS_URL: `nats://127.0.0.1:${nats.port}`, DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/flotilla_test` },
    );
  });

  after(async () => {
    // Whatever a failed test left cut is restored, so the service can stop cleanly.
    await postgres.open();
    await nats.start();
    await service?.dispose();
    await postgres.cut();
    await nats.stop();
    nats.cleanUp();
  });

  const readiness = async () => {
    const response = await fetch(`${service.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
  };

  it('is ready with both up', async () => {
    assert.equal((await readiness()).status, 200);
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
  });

  it('is not ready while NATS is down, and ready again when it returns', async () => {
    await nats.stop();
    const down = await eventually(async () => { const r = await readiness(); return r.status === 503 ? r : undefined; }, 15_000, 'readyz 503');
    assert.equal(down.body.checks['nats'], 'unreachable');
    assert.equal(down.body.checks['postgres'], 'ok');
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200, 'still alive');
    await nats.start();
    await eventually(async () => ((await readiness()).status === 200 ? true : undefined), 20_000, 'readyz 200 after NATS returns');
  });

  it('is not ready while PostgreSQL is unreachable, and ready again when it returns', async () => {
    await postgres.cut();
    const down = await eventually(async () => { const r = await readiness(); return r.status === 503 ? r : undefined; }, 15_000, 'readyz 503');
    assert.match(down.body.checks['postgres'] ?? '', /unreachable/);
    await postgres.open();
    await eventually(async () => ((await readiness()).status === 200 ? true : undefined), 20_000, 'readyz 200 after PostgreSQL returns');
  });
});
