import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterRequested, clusterSpec } from '../../test/fixtures.js';
import { eventJsonSchema } from '../json-schema.js';
import { DEFAULT_MAX_EVENT_BYTES } from '../nats-binding.js';
import { validateEvent } from '../validation.js';
import { CLUSTER_LIMITS, ClusterRequested, NodePoolScaleRequested, type ClusterSpec } from './cluster.js';
import { createEvent } from '../envelope.js';

type Pool = ClusterSpec['nodePools'][number];
const pool = (index: number, overrides: Partial<Pool> = {}): Pool => ({ name: `pool-${index}`, count: 1, machineSize: 'm', labels: {}, taints: [], ...overrides });
const host = (index: number) => ({ address: `10.1.${Math.floor(index / 250)}.${index % 250}`, port: 22, user: 'core', sshKeyRef: 'sshkey-ops', role: 'worker' as const, pool: 'pool-0' });

/** What a consumer of the bus says of a ClusterRequested with this spec: undefined when it is admitted. */
function refusal(overrides: Partial<ClusterSpec>): string | undefined {
  const event = JSON.parse(JSON.stringify(clusterRequested())) as Record<string, unknown>;
  const result = validateEvent({ ...event, data: JSON.parse(JSON.stringify(clusterSpec(overrides))) as unknown });
  return result.ok ? undefined : result.reason;
}

function scaleRefusal(data: Record<string, unknown>): string | undefined {
  const event = createEvent(NodePoolScaleRequested, { subject: 'edge-eu-1', source: '/tests' }, { pool: 'pool-0', count: 1 });
  const result = validateEvent({ ...(JSON.parse(JSON.stringify(event)) as Record<string, unknown>), data });
  return result.ok ? undefined : result.reason;
}

describe('bounds of a cluster request', () => {
  it('takes a request at every bound', () => {
    const labels = Object.fromEntries(Array.from({ length: CLUSTER_LIMITS.labelsPerPool }, (_, index) => [`example.com/label-${index}`, `v${index}`]));
    const taints = Array.from({ length: CLUSTER_LIMITS.taintsPerPool }, (_, index) => ({ key: `example.com/taint-${index}`, value: 'x', effect: 'NoSchedule' as const }));
    const pools = Array.from({ length: CLUSTER_LIMITS.nodePools }, (_, index) => pool(index, { count: CLUSTER_LIMITS.workers / CLUSTER_LIMITS.nodePools }));
    pools[0] = { ...pools[0]!, labels, taints };
    assert.equal(refusal({ nodePools: pools }), undefined);
    assert.equal(refusal({ nodePools: [pool(0, { count: CLUSTER_LIMITS.machinesPerPool })] }), undefined);
    assert.equal(refusal({ model: 'user-provisioned', hosts: Array.from({ length: CLUSTER_LIMITS.hostsPerRequest }, (_, index) => host(index)) }), undefined);
  });

  it('a request at the host bound, with DNS names and host key fingerprints, fits in one message of the bus', () => {
    const hosts = Array.from({ length: CLUSTER_LIMITS.hostsPerRequest }, (_, index) => ({
      ...host(index),
      address: `node-${String(index).padStart(4, '0')}.dc1.example.com`,
      user: 'kubeadmin',
      sshKeyRef: 'sshkey-datacenter-ops',
      hostKeyFingerprint: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
    }));
    const event = clusterRequested({ model: 'user-provisioned', hosts });
    assert.ok(Buffer.byteLength(JSON.stringify(event)) < DEFAULT_MAX_EVENT_BYTES);
  });

  it('refuses more node pools than the bound, naming the field', () => {
    const pools = Array.from({ length: CLUSTER_LIMITS.nodePools + 1 }, (_, index) => pool(index));
    assert.equal(refusal({ nodePools: pools }), `data.nodePools: must have at most ${CLUSTER_LIMITS.nodePools} node pools, has ${CLUSTER_LIMITS.nodePools + 1}`);
  });

  it('refuses a pool of more machines than the bound, naming the pool', () => {
    assert.equal(refusal({ nodePools: [pool(0), pool(1), pool(2), pool(3, { count: 1001 })] }), 'data.nodePools.3.count: must be at most 1000');
  });

  it('refuses pools that add up to more machines than a cluster may have', () => {
    const pools = Array.from({ length: 6 }, (_, index) => pool(index, { count: 1000 }));
    assert.equal(refusal({ nodePools: pools }), `data.nodePools: must have at most ${CLUSTER_LIMITS.workers} machines in all, has 6000 (Kubernetes is tested up to ${CLUSTER_LIMITS.workers} nodes per cluster)`);
  });

  it('refuses more hosts than one request may list', () => {
    const hosts = Array.from({ length: CLUSTER_LIMITS.hostsPerRequest + 1 }, (_, index) => host(index));
    assert.equal(refusal({ model: 'user-provisioned', hosts }), `data.hosts: must have at most ${CLUSTER_LIMITS.hostsPerRequest} hosts, has ${CLUSTER_LIMITS.hostsPerRequest + 1}`);
  });

  it('refuses more labels or taints on a pool than the bound', () => {
    const labels = Object.fromEntries(Array.from({ length: CLUSTER_LIMITS.labelsPerPool + 1 }, (_, index) => [`label-${index}`, 'x']));
    assert.equal(refusal({ nodePools: [pool(0, { labels })] }), `data.nodePools.0.labels: must have at most ${CLUSTER_LIMITS.labelsPerPool} labels, has ${CLUSTER_LIMITS.labelsPerPool + 1}`);
    const taints = Array.from({ length: CLUSTER_LIMITS.taintsPerPool + 1 }, (_, index) => ({ key: `taint-${index}`, effect: 'NoExecute' as const }));
    assert.equal(refusal({ nodePools: [pool(0, { taints })] }), `data.nodePools.0.taints: must have at most ${CLUSTER_LIMITS.taintsPerPool} taints, has ${CLUSTER_LIMITS.taintsPerPool + 1}`);
  });

  it('refuses label and taint keys and values Kubernetes would refuse, naming each', () => {
    const longName = 'n'.repeat(64);
    const reason = refusal({
      nodePools: [
        pool(0, {
          labels: { [`example.com/${longName}`]: 'x', 'Example.com/team': 'a', tier: 'v'.repeat(64), ok: 'has space', 'a/b/c': 'x', ['k'.repeat(400)]: 'x' },
          taints: [
            { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
            { key: `${'d'.repeat(254)}/gpu`, effect: 'NoSchedule' },
            { key: 'dedicated', value: '-web', effect: 'NoExecute' },
          ],
        }),
      ],
    });
    assert.deepEqual(reason?.split('; '), [
      `data.nodePools.0.labels.example.com/${longName}: key: the name must be 1 to 63 characters, is 64`,
      'data.nodePools.0.labels.Example.com/team: key: the prefix must be a DNS subdomain: lower-case letters, digits, "-" and "."',
      'data.nodePools.0.labels.tier: value: must be at most 63 characters, is 64',
      'data.nodePools.0.labels.ok: value: must be empty or letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      'data.nodePools.0.labels.a/b/c: key: must be a name, or a prefix and a name separated by one "/"',
      'data.nodePools.0.labels: a key of 400 characters: the name must be 1 to 63 characters, is 400',
      'data.nodePools.0.taints.1.key: the prefix must be 1 to 253 characters, is 254',
      'data.nodePools.0.taints.2.value: must be empty or letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ]);
  });

  it('refuses a pool name longer than a DNS label', () => {
    assert.equal(refusal({ nodePools: [pool(0, { name: 'p'.repeat(64) })] }), 'data.nodePools.0.name: must be at most 63 characters (a DNS label), is 64');
  });

  it('says every bound in the JSON Schema\'s descriptions, for publishers in other languages', () => {
    const text = JSON.stringify(eventJsonSchema(ClusterRequested));
    for (const bound of [`at most ${CLUSTER_LIMITS.nodePools}, with at most ${CLUSTER_LIMITS.workers} machines`, `at most ${CLUSTER_LIMITS.hostsPerRequest}`, `at most ${CLUSTER_LIMITS.labelsPerPool}, as Kubernetes`, `Taints of the pool's nodes, at most ${CLUSTER_LIMITS.taintsPerPool}`]) {
      assert.ok(text.includes(bound), `the schema says "${bound}"`);
    }
  });
});

describe('bounds of a scale request', () => {
  it('takes a count and hosts at the bound', () => {
    const hosts = Array.from({ length: CLUSTER_LIMITS.hostsPerRequest }, (_, index) => host(index));
    assert.equal(scaleRefusal({ pool: 'p'.repeat(63), count: CLUSTER_LIMITS.machinesPerPool, hosts }), undefined);
  });

  it('refuses a count, hosts or a pool name over the bound, naming each field', () => {
    const hosts = Array.from({ length: CLUSTER_LIMITS.hostsPerRequest + 1 }, (_, index) => host(index));
    assert.deepEqual(scaleRefusal({ pool: 'p'.repeat(64), count: 1001, hosts })?.split('; '), [
      'data.pool: must be at most 63 characters (a DNS label), is 64',
      'data.count: must be at most 1000',
      `data.hosts: must have at most ${CLUSTER_LIMITS.hostsPerRequest} hosts, has ${CLUSTER_LIMITS.hostsPerRequest + 1}`,
    ]);
  });
});
