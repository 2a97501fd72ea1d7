import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asRoot, maskSecrets, shellQuote, trimOutput, uploadScript } from './commands.js';

describe('commands', () => {
  it('runs as root through sudo -n unless the user is root', () => {
    assert.equal(asRoot('root', 'kubeadm reset -f'), `sh -c 'kubeadm reset -f'`);
    assert.equal(asRoot('ubuntu', 'kubeadm reset -f'), `sudo -n sh -c 'kubeadm reset -f'`);
  });

  it('quotes for the shell', () => {
    assert.equal(shellQuote(`it's`), `'it'\\''s'`);
  });

  it('uploads from stdin, never with the content in the command', () => {
    const script = uploadScript('/etc/kubernetes/kubeadm-config.yaml', '600');
    assert.match(script, /base64 -d > '\/etc\/kubernetes\/kubeadm-config.yaml'.tmp/);
    assert.match(script, /umask 077 && mkdir -p '\/etc\/kubernetes'/);
  });

  it('masks known secrets and anything shaped like a kubeadm secret', () => {
    const output = 'kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --certificate-key 0a1b2c --discovery-token-ca-cert-hash sha256:00\n  token: zyxwvu.zyxwvutsrqponmlk\nsecret value: hunter2-long';
    const masked = maskSecrets(output, ['hunter2-long']);
    assert.equal(masked, 'kubeadm join 10.0.0.1:6443 --token *** --certificate-key *** --discovery-token-ca-cert-hash sha256:00\n  token: ***\nsecret value: ***');
  });

  it('keeps the tail of long output', () => {
    const trimmed = trimOutput(`${'x'.repeat(10_000)}END\n\n`);
    assert.ok(trimmed.endsWith('END'));
    assert.ok(trimmed.length <= 8_001);
  });
});
