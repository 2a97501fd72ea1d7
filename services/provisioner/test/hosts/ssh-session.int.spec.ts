import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@flotilla/messaging/testing';
import { FACTS_SCRIPT, parseFacts } from '../../src/hosts/facts.js';
import { SshError } from '../../src/hosts/ssh-errors.js';
import { SshSession, type SshTarget } from '../../src/hosts/ssh-session.js';
import { tearDown, TestSshd } from '../support/sshd.js';
import { HostsContext } from './support.js';

const TIMEOUTS = { connectMs: 5_000, commandMs: 20_000 };

async function connectError(promise: Promise<SshSession>): Promise<SshError> {
  try {
    (await promise).close();
  } catch (error) {
    assert.ok(error instanceof SshError, `expected an SshError, got ${String(error)}`);
    return error;
  }
  assert.fail('the connection should have been refused');
}

describe('SSH sessions against a real sshd', () => {
  let context: HostsContext;
  let sshd: TestSshd;
  let target: SshTarget;

  before(async () => {
    context = await HostsContext.create();
    sshd = await TestSshd.start({ address: '127.0.0.1', facts: 'real' });
    target = { address: sshd.address, port: sshd.port, user: 'root' };
  });

  after(async () => {
    await tearDown(() => context.dispose(), () => sshd.stop());
  });

  it('gathers the real facts of this machine, the same node reads locally', async () => {
    const session = await SshSession.connect(target, Buffer.from(sshd.userPrivateKey), context.records, TIMEOUTS);
    try {
      const result = await session.run('sh -s', FACTS_SCRIPT);
      assert.equal(result.exitCode, 0, result.output);
      const facts = parseFacts(result.output);
      const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
      assert.equal(facts.cpus, Number(execFileSync('nproc', { encoding: 'utf8' }).trim()));
      assert.equal(facts.memoryMb, Math.floor(memTotalKb / 1024));
      assert.equal(facts.hostname, hostname());
      assert.equal(facts.ipForward, readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim());
      const osId = /^ID="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
      assert.equal(facts.osId, osId);
      // sshd itself listens: the port probe sees real listeners.
      assert.ok(facts.listeningPorts.includes(sshd.port), `port ${sshd.port} in ${facts.listeningPorts.join(',')}`);
    } finally {
      session.close();
    }
  });

  it('pins the host key on first use, with the fingerprint ssh-keygen shows', async () => {
    assert.equal(await context.records.pinned(sshd.address, sshd.port), sshd.hostKeyFingerprint);
  });

  it('passes stdin and reports exit codes and output', async () => {
    const session = await SshSession.connect(target, Buffer.from(sshd.userPrivateKey), context.records, TIMEOUTS);
    try {
      assert.deepEqual(await session.run('cat; echo err >&2; exit 3', 'hello\n'), { exitCode: 3, output: 'hello\nerr\n' });
    } finally {
      session.close();
    }
  });

  it('refuses a key the host does not accept, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
      const other = readFileSync(join(dir, 'key'));
      const error = await connectError(SshSession.connect(target, other, context.records, TIMEOUTS));
      assert.equal(error.code, 'auth-failed');
      assert.equal(error.message, `root@127.0.0.1:${sshd.port}: the host refused the SSH key (publickey authentication was refused)`);
      assert.ok(!error.message.includes(other.toString()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a host key that is not the expected one', async () => {
    const error = await connectError(SshSession.connect({ ...target, expectedHostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, Buffer.from(sshd.userPrivateKey), context.records, TIMEOUTS));
    assert.equal(error.code, 'host-key-mismatch');
    assert.match(error.message, /the host key is not the expected one \(expected SHA256:A+, the host presented SHA256:/);
  });

  it('says when nothing listens at the address', async () => {
    const port = await freePort();
    const error = await connectError(SshSession.connect({ address: '127.0.0.1', port, user: 'root' }, Buffer.from(sshd.userPrivateKey), context.records, TIMEOUTS));
    assert.equal(error.code, 'unreachable');
    assert.equal(error.transient, true);
    assert.equal(error.message, `root@127.0.0.1:${port}: the host cannot be reached (connection refused)`);
  });

  it('refuses a host whose key changed since it was pinned (a reinstalled or impostor host)', async () => {
    const address = '127.0.0.2';
    const first = await TestSshd.start({ address });
    const port = first.port;
    const before = first.hostKeyFingerprint;
    (await SshSession.connect({ address, port, user: 'root' }, Buffer.from(first.userPrivateKey), context.records, TIMEOUTS)).close();
    await first.stop();
    const impostor = await TestSshd.start({ address, port });
    try {
      const error = await connectError(SshSession.connect({ address, port, user: 'root' }, Buffer.from(impostor.userPrivateKey), context.records, TIMEOUTS));
      assert.equal(error.code, 'host-key-changed');
      assert.equal(error.transient, false);
      assert.match(error.message, new RegExp(`^root@${address}:${port}: the host key changed since it was first seen \\(pinned ${before.replace(/[+/]/g, '\\$&')}, the host presented ${impostor.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}`));
      assert.equal(await context.records.pinned(address, port), before);
      // After an operator removes the pin, the new key is trusted.
      assert.equal(await context.records.unpin(address, port), true);
      (await SshSession.connect({ address, port, user: 'root' }, Buffer.from(impostor.userPrivateKey), context.records, TIMEOUTS)).close();
      assert.equal(await context.records.pinned(address, port), impostor.hostKeyFingerprint);
    } finally {
      await impostor.stop();
    }
  });
});
