import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { generateJoinSecrets, type JoinSecrets } from '../join-secrets.js';
import { renderCombustion, shellQuote } from './combustion.js';
import { type NodeBootstrapInput, type NodeBootstrapPlan, planNodeBootstrap } from './plan.js';

const spec = ClusterSpec.parse({
  name: 'Payments',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'm' },
  nodePools: [{ name: 'general', count: 1, machineSize: 'm', labels: { tier: 'web' } }],
  nodeOs: 'microos',
});

const HOSTILE = ["'", '"', '$(touch "$CANARY")', '`touch "$CANARY"`', '\nEOF\n', "'\"$(touch \"$CANARY\")\"'", 'FLOTILLA_PAYLOAD_END', '\\', '${root:?x}', '; touch "$CANARY";', '\r\n', 'ü✓', '%s%n', '*', '\t'];

function bashSyntaxErrors(script: string): string {
  const result = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  return result.status === 0 ? '' : result.stderr || `exit ${result.status}`;
}

/**
 * Runs a script against a scratch root. The real systemctl enables units offline (`--root`); `id`,
 * `useradd` and `chown` act on the machine's own users, so stand-ins record their arguments.
 */
function runInScratchRoot(render: (root: string) => string): { root: string; status: number | null; stderr: string; calls: string[][]; canary: string } {
  const dir = mkdtempSync(join(tmpdir(), 'combustion-'));
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  const canary = join(dir, 'injected');
  mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
  for (const unit of ['containerd.service', 'kubelet.service']) {
    writeFileSync(join(root, 'usr/lib/systemd/system', unit), `[Unit]\nDescription=${unit}\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n`);
  }
  mkdirSync(bin);
  for (const [name, status] of [['id', 1], ['useradd', 0], ['chown', 0]] as const) {
    // Each argument on its own NUL-terminated record, so arguments with newlines stay whole.
    writeFileSync(join(bin, name), `#!/bin/bash\nprintf '%s\\0' ${name} "$@" >> ${shellQuote(log)}\nprintf '\\n' >> ${shellQuote(log)}\nexit ${status}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const script = render(root);
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env['PATH']}`, CANARY: canary } });
  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\0\n')
        .filter((line) => line !== '')
        .map((line) => line.split('\0'))
    : [];
  return { root, status: result.status, stderr: result.stderr, calls, canary };
}

/** The calls about the break-glass user, without the chown 0:0 of each file written. */
function userCalls(calls: string[][]): string[][] {
  return calls.filter(([command, owner]) => !(command === 'chown' && owner === '0:0'));
}

describe('Combustion script', () => {
  let secrets: JoinSecrets;
  let input: NodeBootstrapInput;
  const scratch: string[] = [];
  before(async () => {
    secrets = await generateJoinSecrets('c1');
    input = {
      clusterId: 'c1',
      spec,
      node: { name: 'c1-cp-0', role: 'control-plane', pool: null, first: true, address: '172.16.0.10' },
      controlPlaneEndpoint: '172.16.0.10:6443',
      secrets,
      nodeOs: 'microos',
      breakGlass: { user: 'flotilla-ops', authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkOIhdW8w1ph2sxdfn4kqUZ5VTXTEfQ8UHU7oMhsD3C ops@example'] },
    };
  });
  after(() => {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it('is valid bash with the Combustion markers', () => {
    const script = renderCombustion(planNodeBootstrap(input));
    const lines = script.split('\n');
    assert.equal(lines[0], '#!/bin/bash');
    assert.ok(lines.includes('# combustion: network'));
    assert.ok(lines.includes('set -euo pipefail'));
    assert.equal(bashSyntaxErrors(script), '');
    assert.ok(!script.includes(secrets.bootstrapToken) && !script.includes(secrets.certificateKey), 'payloads travel encoded');
  });

  it('writes every file of the plan byte for byte with its mode, enables the units and sets up break-glass access', () => {
    const plan = planNodeBootstrap(input);
    const run = runInScratchRoot((root) => renderCombustion(plan, { root }));
    scratch.push(join(run.root, '..'));
    assert.equal(run.status, 0, run.stderr);
    for (const file of plan.files) {
      const target = join(run.root, file.path);
      assert.equal(readFileSync(target, 'utf8'), file.contents, file.path);
      assert.equal(statSync(target).mode & 0o7777, file.mode, file.path);
    }
    assert.equal(readFileSync(join(run.root, 'etc/hostname'), 'utf8'), 'c1-cp-0\n');
    assert.equal(statSync(join(run.root, 'etc/kubernetes/kubeadm-config.yaml')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(run.root, 'etc/systemd/system/kubeadm-bootstrap.service'), 'utf8'), /kubeadm init --config/);
    for (const unit of ['containerd.service', 'kubelet.service', 'kubeadm-bootstrap.service']) {
      const link = join(run.root, 'etc/systemd/system/multi-user.target.wants', unit);
      assert.ok(lstatSync(link).isSymbolicLink(), `${unit} enabled`);
      assert.match(readlinkSync(link), new RegExp(`/${unit.replace('.', '\\.')}$`));
    }
    const keys = join(run.root, 'home/flotilla-ops/.ssh/authorized_keys');
    assert.equal(readFileSync(keys, 'utf8'), `${input.breakGlass!.authorizedKeys[0]}\n`);
    assert.equal(statSync(keys).mode & 0o777, 0o600);
    assert.equal(statSync(join(run.root, 'home/flotilla-ops/.ssh')).mode & 0o777, 0o700);
    const owned = run.calls.filter(([command, owner]) => command === 'chown' && owner === '0:0').map((call) => call.at(-1));
    assert.equal(owned.length, plan.files.length + 2, 'every file written is made root-owned (files, the unit, authorized_keys)');
    assert.deepEqual(userCalls(run.calls), [
      ['id', '-u', '--', 'flotilla-ops'],
      ['useradd', '--create-home', '--', 'flotilla-ops'],
      ['chown', '-R', '--', 'flotilla-ops:', join(run.root, 'home/flotilla-ops/.ssh')],
    ]);
  });

  it('no value, however hostile, breaks out of a heredoc or a quote', () => {
    // The renderer's own validation keeps hostile names out of real plans; this feeds them to the
    // encoder directly, in paths, contents, unit contents and the user name.
    let seed = 7;
    const pick = () => HOSTILE[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % HOSTILE.length]!;
    const hostile = (parts: number) => Array.from({ length: parts }, pick).join('x');
    for (let round = 0; round < 12; round++) {
      const segment = hostile(3).replaceAll('/', '_').replaceAll('\0', '');
      const plan: NodeBootstrapPlan = {
        hostname: hostile(2),
        files: [
          { path: `/etc/${segment}`, mode: 0o644, contents: hostile(6), secret: false },
          { path: '/etc/kubernetes/kubeadm-config.yaml', mode: 0o600, contents: `token: ${hostile(4)}\nEOF\nFLOTILLA_PAYLOAD_END\n`, secret: true },
        ],
        units: [{ name: 'kubeadm-bootstrap.service', contents: `[Service]\nExecStart=/bin/echo ${hostile(3)}\n[Install]\nWantedBy=multi-user.target\n` }],
        breakGlass: { user: hostile(2), authorizedKeys: [hostile(3)] },
      };
      const script = renderCombustion(plan);
      assert.equal(bashSyntaxErrors(script), '', `round ${round}`);
      const run = runInScratchRoot((root) => renderCombustion(plan, { root }));
      scratch.push(join(run.root, '..'));
      assert.equal(existsSync(run.canary), false, `round ${round}: a command was injected`);
      assert.equal(run.status, 0, `round ${round}: ${run.stderr}`);
      for (const file of plan.files) assert.equal(readFileSync(join(run.root, file.path), 'utf8'), file.contents, `round ${round}: ${JSON.stringify(file.path)}`);
      assert.equal(readFileSync(join(run.root, 'etc/systemd/system/kubeadm-bootstrap.service'), 'utf8'), plan.units[0]!.contents);
      assert.equal(readFileSync(join(run.root, 'home', plan.breakGlass!.user, '.ssh/authorized_keys'), 'utf8'), `${plan.breakGlass!.authorizedKeys[0]}\n`);
      assert.deepEqual(userCalls(run.calls)[0], ['id', '-u', '--', plan.breakGlass!.user], `round ${round}: the user name reaches id as one argument`);
    }
  });

  it('quotes any value as one shell word', () => {
    for (const value of [...HOSTILE, HOSTILE.join('')]) {
      const result = spawnSync('bash', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8', env: { CANARY: '/nonexistent/x' } });
      assert.equal(result.stdout, value);
    }
  });
});
