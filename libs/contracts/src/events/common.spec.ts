import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterId, clusterIdFor, ClusterLabels, LABEL_LIMITS, labelKeyProblem, labelValueProblem } from './common.js';

describe('clusterIdFor', () => {
  it('makes a valid, distinct cluster id from any display name', () => {
    for (const name of ['prod', 'Team A / Prod #1', '---', 'x'.repeat(80), 'Ünïcode cluster']) {
      const id = clusterIdFor(name);
      assert.ok(ClusterId.safeParse(id).success, `${JSON.stringify(name)} -> ${id}`);
    }
    assert.match(clusterIdFor('Team A / Prod #1'), /^team-a-prod-1-[0-9a-f]{6}$/);
    assert.match(clusterIdFor('---'), /^cluster-[0-9a-f]{6}$/);
    assert.notEqual(clusterIdFor('prod'), clusterIdFor('prod'));
  });
});

describe('Kubernetes label syntax', () => {
  it('takes keys and values Kubernetes takes, up to their longest', () => {
    for (const key of ['team', 'app.kubernetes.io/name', 'example.com/GPU_type-1', `${'a'.repeat(253)}/${'n'.repeat(63)}`, 'x']) assert.equal(labelKeyProblem(key), undefined, key);
    for (const value of ['', 'web', 'v1.2_3-x', 'v'.repeat(63)]) assert.equal(labelValueProblem(value), undefined, value);
  });

  it('names what is wrong with keys and values it refuses', () => {
    assert.deepEqual(
      ['', '/name', 'a/b/c', `${'a'.repeat(254)}/n`, 'Example.com/n', 'example.com/', `${'n'.repeat(64)}`, '-team', 'team!'].map(labelKeyProblem),
      [
        'the name must be 1 to 63 characters, is 0',
        'the prefix must be 1 to 253 characters, is 0',
        'must be a name, or a prefix and a name separated by one "/"',
        'the prefix must be 1 to 253 characters, is 254',
        'the prefix must be a DNS subdomain: lower-case letters, digits, "-" and "."',
        'the name must be 1 to 63 characters, is 0',
        'the name must be 1 to 63 characters, is 64',
        'the name must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
        'the name must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      ],
    );
    assert.equal(labelValueProblem('v'.repeat(64)), 'must be at most 63 characters, is 64');
    assert.equal(labelValueProblem('a b'), 'must be empty or letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
  });
});

describe('ClusterLabels', () => {
  it(`takes at most ${LABEL_LIMITS.clusterLabels} labels`, () => {
    const labels = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`label-${index}`, 'x']));
    assert.ok(ClusterLabels.safeParse(labels(LABEL_LIMITS.clusterLabels)).success);
    const refused = ClusterLabels.safeParse(labels(LABEL_LIMITS.clusterLabels + 1));
    assert.deepEqual(refused.error?.issues.map((issue) => issue.message), [`must have at most ${LABEL_LIMITS.clusterLabels} labels, has ${LABEL_LIMITS.clusterLabels + 1}`]);
  });
});
