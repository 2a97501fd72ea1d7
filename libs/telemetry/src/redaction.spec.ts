import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretKey, redactLine } from './redaction.js';

describe('isSecretKey', () => {
  it('matches secret-looking keys whatever their case or separators', () => {
    for (const key of [
      'password', 'PASSWORD', 'dbPassword', 'db_password', 'passwordHash', 'passwd', 'passphrase',
      'secret', 'clientSecret', 'CLIENT_SECRET', 'token', 'accessToken', 'refresh_token', 'x-auth-token',
      'apiKey', 'api_key', 'X-API-Key', 'authorization', 'Authorization', 'proxy-authorization',
      'cookie', 'set-cookie', 'privateKey', 'private_key', 'sshPrivateKey', 'privateKeyPem',
      'kubeconfig', 'kubeconfigYaml', 'KUBECONFIG', 'credentials', 'awsCredential', 'client-key-data', 'sessionId',
    ]) {
      assert.ok(isSecretKey(key), key);
    }
  });

  it('leaves keys that only name or locate a secret', () => {
    for (const key of ['secretName', 'secretRef', 'tokenUrl', 'tokens', 'tokenCount', 'keyId', 'publicKey', 'user', 'certificate-authority-data']) {
      assert.ok(!isSecretKey(key), key);
    }
  });
});

describe('redactLine', () => {
  it('returns clean lines unchanged', () => {
    const line = '{"level":"info","msg":"ok","url":"https://example.com/a@b"}\n';
    assert.equal(redactLine(line), line);
  });

  it('masks the password of URLs anywhere in the line', () => {
    assert.equal(
      redactLine('{"msg":"connecting to nats://bus:pa55@nats:4222 and postgres://u:p%40ss@db/x"}\n'),
      '{"msg":"connecting to nats://bus:[Redacted]@nats:4222 and postgres://u:[Redacted]@db/x"}\n',
    );
  });

  it('drops a line it cannot parse rather than let a secret through', () => {
    const result = redactLine('password=hunter2 "password":"hunter2"\n');
    assert.ok(!result.includes('hunter2'));
    assert.match(result, /log line dropped/);
    assert.ok(result.endsWith('\n'));
  });
});
