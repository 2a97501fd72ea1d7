import 'reflect-metadata';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { generateJoinSecrets, type JoinSecrets } from '../join-secrets.js';
import { BootstrapDataError, type BootstrapDataInput, type IgnitionConfig, renderBootstrapData } from './index.js';

const spec = ClusterSpec.parse({
  name: 'Payments',
  model: 'platform-provisioned',
  kubernetesVersion: '1.33.4',
  controlPlane: { count: 3, machineSize: 'm' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: { tier: 'web' } }],
});

/** path -> [mode, contents] of what a Combustion script writes, read back from its heredocs. */
function combustionFiles(script: string): Map<string, [number, string]> {
  const written = new Map<string, [number, string]>();
  for (const match of script.matchAll(/^write_file '([^']*)' (\d{4}) <<'FLOTILLA_PAYLOAD_END'\n([A-Za-z0-9+/=\n]*?)\n?FLOTILLA_PAYLOAD_END$/gm)) {
    written.set(match[1]!, [parseInt(match[2]!, 8), Buffer.from(match[3]!.replaceAll('\n', ''), 'base64').toString('utf8')]);
  }
  return written;
}

function ignitionFiles(content: string): Map<string, [number, string]> {
  const config = JSON.parse(content) as IgnitionConfig;
  const written = new Map<string, [number, string]>();
  for (const file of config.storage.files) {
    const source = file.contents.source;
    const contents = source.startsWith('data:;base64,') ? Buffer.from(source.slice('data:;base64,'.length), 'base64').toString('utf8') : decodeURIComponent(source.slice('data:,'.length));
    written.set(file.path, [file.mode, contents]);
  }
  for (const unit of config.systemd.units) if (unit.contents !== undefined) written.set(`/etc/systemd/system/${unit.name}`, [0o644, unit.contents]);
  for (const user of config.passwd?.users ?? []) written.set(`/home/${user.name}/.ssh/authorized_keys`, [0o600, user.sshAuthorizedKeys.map((key) => `${key}\n`).join('')]);
  return written;
}

describe('bootstrap data', () => {
  let secrets: JoinSecrets;
  let input: BootstrapDataInput;
  before(async () => {
    secrets = await generateJoinSecrets('c1');
    input = {
      clusterId: 'c1',
      spec,
      node: { name: 'c1-general-1', role: 'worker', pool: 'general', first: false, address: '10.0.0.21' },
      controlPlaneEndpoint: 'c1.api.example.net:6443',
      secrets,
      nodeOs: 'microos',
      breakGlass: { user: 'ops', authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkOIhdW8w1ph2sxdfn4kqUZ5VTXTEfQ8UHU7oMhsD3C'] },
    };
  });

  it('is Ignition for Flatcar and Fedora CoreOS, Combustion for MicroOS unless Ignition is asked for', () => {
    assert.equal(renderBootstrapData({ ...input, nodeOs: 'flatcar' }).format, 'ignition');
    assert.equal(renderBootstrapData({ ...input, nodeOs: 'fedora-coreos' }).format, 'ignition');
    const microos = renderBootstrapData(input);
    assert.equal(microos.format, 'combustion');
    assert.match(microos.content, /^#!\/bin\/bash\n# combustion: network\n/);
    const ignition = renderBootstrapData({ ...input, format: 'ignition' });
    assert.equal(ignition.format, 'ignition');
    assert.equal((JSON.parse(ignition.content) as IgnitionConfig).ignition.version, '3.4.0');
  });

  it('Combustion and Ignition write the same files with the same modes', () => {
    const fromCombustion = combustionFiles(renderBootstrapData(input).content);
    const fromIgnition = ignitionFiles(renderBootstrapData({ ...input, format: 'ignition' }).content);
    assert.ok(fromIgnition.size >= 7);
    assert.deepEqual(fromCombustion, fromIgnition);
  });

  it('refuses what it cannot render, naming the field', () => {
    const refusals: [BootstrapDataInput, string, string][] = [
      [{ ...input, nodeOs: 'flatcar', format: 'combustion' }, 'node-os-unsupported', 'format'],
      [{ ...input, nodeOs: 'windows' as never }, 'node-os-unsupported', 'nodeOs'],
      [{ ...input, breakGlass: { user: 'root; rm -rf /', authorizedKeys: [] } }, 'ssh-user-invalid', 'breakGlass.user'],
      [{ ...input, breakGlass: { user: 'ops', authorizedKeys: ['ssh-ed25519 AAAA\nmalicious'] } }, 'ssh-key-invalid', 'breakGlass.authorizedKeys[0]'],
      [{ ...input, spec: { ...spec, nodePools: [{ ...spec.nodePools[0]!, labels: { tier: 'web\nEOF\n$(reboot)' } }] } }, 'label-invalid', 'spec.nodePools[0].labels["tier"]'],
    ];
    for (const [bad, code, field] of refusals) {
      assert.throws(
        () => renderBootstrapData(bad),
        (error: unknown) => error instanceof BootstrapDataError && error.code === code && error.field === field,
        `${code} ${field}`,
      );
    }
  });
});
