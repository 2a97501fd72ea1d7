import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Module, type DynamicModule } from '@nestjs/common';
import { selfSignedCertificate } from '@flotilla/auth/testing';
import { ConfigError, serviceConfigSchema } from '../src/config.js';
import { ServiceKitModule } from '../src/service-kit.module.js';
import { startTestService, type TestService } from '../src/testing/index.js';
import type { ServiceDefinition } from '../src/bootstrap.js';

const PlainConfig = serviceConfigSchema(0, {});

@Module({})
class PlainServiceModule {
  static register(config: ReturnType<typeof PlainConfig.parse>): DynamicModule {
    return { module: PlainServiceModule, imports: [ServiceKitModule.forRoot({ service: 'tunnel-broker', config, migrations: [], entities: [] })] };
  }
}
const plainService: ServiceDefinition<typeof PlainConfig> = { name: 'tunnel-broker', config: PlainConfig, module: (config) => PlainServiceModule.register(config) };

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('a service serves HTTPS with certificates from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-tls-'));
  const tls = selfSignedCertificate();
  let service: TestService;

  before(async () => {
    writeFileSync(join(dir, 'tls.crt'), tls.cert);
    writeFileSync(join(dir, 'tls.key'), tls.key, { mode: 0o600 });
    service = await startTestService(plainService, { TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'tls.key') });
  });

  after(async () => {
    await service.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers over TLS, verified against the certificate', async () => {
    assert.match(service.url, /^https:/);
    const answer = await httpsGet(`${service.url}/healthz`, tls.cert);
    assert.deepEqual({ status: answer.status, body: JSON.parse(answer.body) as unknown }, { status: 200, body: { status: 'ok' } });
    await assert.rejects(httpsGet(`${service.url}/healthz`, selfSignedCertificate().cert), /self-signed|unable to verify|certificate/);
  });

  it('stops start-up naming the variable when a file is missing or alone', async () => {
    await assert.rejects(startTestService(plainService, { TLS_CERT_FILE: join(dir, 'tls.crt') }), (error: Error) => error instanceof ConfigError && /TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together/.test(error.message));
    await assert.rejects(
      startTestService(plainService, { TLS_CERT_FILE: join(dir, 'missing.crt'), TLS_KEY_FILE: join(dir, 'tls.key') }),
      (error: Error) => error instanceof ConfigError && /TLS_CERT_FILE: cannot be read \(ENOENT\)/.test(error.message),
    );
  });
});
