import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@flotilla/service-kit';
import { createTestPki } from '../../test/support/pki.js';
import { ImporterConfig } from '../config.js';
import { tunnelApiServer } from './tunnel-access.js';
import { tunnelBrokerSettings } from './tunnel-config.js';

const dir = mkdtempSync(join(tmpdir(), 'importer-tunnel-config-'));
const file = (name: string, content: string) => {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
};
const base = { SECRETS_KEYS: `k1:${Buffer.alloc(32).toString('base64')}` };
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(ImporterConfig, { ...base, ...env });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((problem) => problem.split(':')[0]!).filter((name) => name.startsWith('TUNNEL_'));
  }
};

describe('tunnel broker settings', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('unset: clusters registered through the tunnel cannot be reached (they wait, saying so)', () => {
    assert.deepEqual(tunnelBrokerSettings(loadConfig(ImporterConfig, base)), { url: undefined, caCertificatePem: null });
  });

  it('the broker URL and its CA bundle', () => {
    const { caCertificatePem } = createTestPki('tunnel-broker');
    const config = loadConfig(ImporterConfig, { ...base, TUNNEL_BROKER_URL: 'https://tunnel-broker.flotilla.svc:8084', TUNNEL_BROKER_CA_FILE: file('ca.pem', caCertificatePem) });
    assert.deepEqual(tunnelBrokerSettings(config), { url: 'https://tunnel-broker.flotilla.svc:8084', caCertificatePem });
    assert.equal(tunnelApiServer('https://tunnel-broker.flotilla.svc:8084/', 'edge-7-a1b2c3'), 'https://tunnel-broker.flotilla.svc:8084/api/v1/tunnels/edge-7-a1b2c3/k8s');
  });

  it('bad values stop start-up, naming the variable', () => {
    assert.deepEqual(problems({ TUNNEL_BROKER_URL: 'http://tunnel-broker:8084' }), ['TUNNEL_BROKER_URL'], 'a token never goes over plain HTTP');
    assert.deepEqual(problems({ TUNNEL_BROKER_URL: 'https://tunnel-broker:8084/?x=1' }), ['TUNNEL_BROKER_URL']);
    assert.deepEqual(problems({ TUNNEL_BROKER_URL: 'https://tunnel-broker:8084', TUNNEL_BROKER_CA_FILE: join(dir, 'missing.pem') }), ['TUNNEL_BROKER_CA_FILE']);
    assert.deepEqual(problems({ TUNNEL_BROKER_URL: 'https://tunnel-broker:8084', TUNNEL_BROKER_CA_FILE: file('junk.pem', 'not a certificate') }), ['TUNNEL_BROKER_CA_FILE']);
    assert.deepEqual(problems({ TUNNEL_BROKER_CA_FILE: file('lonely.pem', createTestPki('x').caCertificatePem) }), ['TUNNEL_BROKER_CA_FILE'], 'a CA for no broker');
  });
});
