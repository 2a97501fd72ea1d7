import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideHostKey, sshFingerprint } from './host-key-policy.js';

describe('host key policy', () => {
  it('pins the first key seen', () => assert.deepEqual(decideHostKey('SHA256:a', null, null), { accept: true, pin: true }));
  it('accepts the pinned key', () => assert.deepEqual(decideHostKey('SHA256:a', 'SHA256:a', null), { accept: true, pin: false }));
  it('refuses a changed key', () => {
    const decision = decideHostKey('SHA256:b', 'SHA256:a', null);
    assert.equal(decision.accept, false);
    assert.equal(!decision.accept && decision.code, 'host-key-changed');
  });
  it('refuses a key that is not the expected one, even on first use', () => {
    const decision = decideHostKey('SHA256:b', null, 'SHA256:a');
    assert.equal(!decision.accept && decision.code, 'host-key-mismatch');
  });
  it('accepts the expected key on first use and pins it', () => assert.deepEqual(decideHostKey('SHA256:a', null, 'SHA256:a'), { accept: true, pin: true }));
  it('fingerprints like ssh-keygen: SHA256 and unpadded base64', () => {
    assert.equal(sshFingerprint(Buffer.from('abc')), 'SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0');
  });
});
