import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'tunnel-agent-config-'));
writeFileSync(join(dir, 'token'), 'sa-token');
writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
writeFileSync(join(dir, 'namespace'), 'flotilla-system\n');
writeFileSync(join(dir, 'not-a-ca.pem'), 'hello');

const good: NodeJS.ProcessEnv = {
  FLOTILLA_CLUSTER_ID: 'edge-a1b2c3',
  FLOTILLA_TUNNEL_URL: 'https://flotilla.example',
  FLOTILLA_AGENT_ID: 'flotilla-tunnel-agent-7d9f-abcde',
  FLOTILLA_REGISTRATION_TOKEN: 'flt_reg_0123456789',
  FLOTILLA_SERVICE_ACCOUNT_DIR: dir,
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
};

/** The variables a ConfigError names, in order. */
function named(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    for (const { variable } of error.problems) assert.ok(error.message.includes(variable));
    return error.problems.map((problem) => problem.variable);
  }
  assert.fail('no ConfigError');
}

describe('agent configuration', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads everything from the environment and the service account', () => {
    const config = loadConfig(good);
    assert.equal(config.clusterId, 'edge-a1b2c3');
    assert.equal(config.tunnelUrl.href, 'https://flotilla.example/');
    assert.equal(config.namespace, 'flotilla-system');
    assert.equal(config.credentialSecret, 'flotilla-tunnel-agent-credential');
    assert.equal(config.registrationSecret, 'flotilla-tunnel-agent-registration');
    assert.equal(config.tunnelCa, undefined);
    assert.deepEqual(config.kubernetes, { apiServer: 'https://10.96.0.1:443', tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    assert.equal(loadConfig({ ...good, KUBERNETES_SERVICE_HOST: 'fd00::1' }).kubernetes.apiServer, 'https://[fd00::1]:443');
    assert.equal(loadConfig({ ...good, FLOTILLA_KUBERNETES_API: 'https://127.0.0.1:6443/' }).kubernetes.apiServer, 'https://127.0.0.1:6443');
    assert.equal(loadConfig({ ...good, FLOTILLA_REGISTRATION_TOKEN: undefined }).registrationToken, undefined);
  });

  it('names each missing variable', () => {
    assert.deepEqual(named({ ...good, FLOTILLA_CLUSTER_ID: undefined }), ['FLOTILLA_CLUSTER_ID']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_URL: '' }), ['FLOTILLA_TUNNEL_URL']);
    assert.deepEqual(named({ ...good, FLOTILLA_AGENT_ID: ' ' }), ['FLOTILLA_AGENT_ID']);
    assert.deepEqual(named({ ...good, KUBERNETES_SERVICE_HOST: undefined }), ['KUBERNETES_SERVICE_HOST']);
    assert.deepEqual(named({ FLOTILLA_SERVICE_ACCOUNT_DIR: dir, KUBERNETES_SERVICE_HOST: '10.0.0.1' }), ['FLOTILLA_CLUSTER_ID', 'FLOTILLA_TUNNEL_URL', 'FLOTILLA_AGENT_ID']);
  });

  it('names each bad variable, never echoing the token', () => {
    assert.deepEqual(named({ ...good, FLOTILLA_CLUSTER_ID: 'Edge_A' }), ['FLOTILLA_CLUSTER_ID']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_URL: 'http://flotilla.example' }), ['FLOTILLA_TUNNEL_URL']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_URL: 'https://user:secret@flotilla.example' }), ['FLOTILLA_TUNNEL_URL']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_URL: 'flotilla.example' }), ['FLOTILLA_TUNNEL_URL']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_CA_FILE: join(dir, 'missing.pem') }), ['FLOTILLA_TUNNEL_CA_FILE']);
    assert.deepEqual(named({ ...good, FLOTILLA_TUNNEL_CA_FILE: join(dir, 'not-a-ca.pem') }), ['FLOTILLA_TUNNEL_CA_FILE']);
    assert.deepEqual(named({ ...good, FLOTILLA_CREDENTIAL_SECRET: 'Not A Name' }), ['FLOTILLA_CREDENTIAL_SECRET']);
    assert.deepEqual(named({ ...good, KUBERNETES_SERVICE_PORT: 'https' }), ['KUBERNETES_SERVICE_PORT']);
    assert.deepEqual(named({ ...good, FLOTILLA_KUBERNETES_API: 'http://127.0.0.1:8080' }), ['FLOTILLA_KUBERNETES_API']);
    const token = 'flt_reg_with a space';
    try {
      loadConfig({ ...good, FLOTILLA_REGISTRATION_TOKEN: token });
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.variable), ['FLOTILLA_REGISTRATION_TOKEN']);
      assert.ok(!error.message.includes(token));
    }
  });

  it('names FLOTILLA_SERVICE_ACCOUNT_DIR when the service account is not there, saying what to do outside a pod', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tunnel-agent-empty-'));
    try {
      assert.deepEqual(named({ ...good, FLOTILLA_SERVICE_ACCOUNT_DIR: empty }), ['FLOTILLA_SERVICE_ACCOUNT_DIR', 'FLOTILLA_SERVICE_ACCOUNT_DIR', 'FLOTILLA_SERVICE_ACCOUNT_DIR']);
      writeFileSync(join(empty, 'token'), '\n');
      writeFileSync(join(empty, 'ca.crt'), 'x');
      writeFileSync(join(empty, 'namespace'), 'ns');
      assert.throws(() => loadConfig({ ...good, FLOTILLA_SERVICE_ACCOUNT_DIR: empty }), /FLOTILLA_SERVICE_ACCOUNT_DIR leads to .*token, which is empty/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    // In a pod the default directory is used; elsewhere the message says how to point at one.
    const { FLOTILLA_SERVICE_ACCOUNT_DIR: _dir, ...withoutDir } = good;
    if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return;
    assert.throws(() => loadConfig(withoutDir), /FLOTILLA_SERVICE_ACCOUNT_DIR leads to no file \/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token .*set FLOTILLA_SERVICE_ACCOUNT_DIR/);
  });
});
