import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTree } from './tree.js';

describe('renderTree', () => {
  it('draws the tree in the NAME column and aligns READY, SEVERITY, REASON, SINCE and MESSAGE', () => {
    const now = new Date('2026-01-10T12:00:00Z');
    const text = renderTree(
      [
        {
          name: 'Cluster/prod',
          ready: 'True',
          since: '2026-01-10T11:55:00Z',
          children: [
            { name: 'ControlPlane', ready: 'True', message: '1/1 ready', children: [{ name: 'Machine/prod-cp-0', ready: 'True', since: '2026-01-10T11:54:00Z' }] },
            {
              name: 'NodePool/workers',
              ready: 'False',
              severity: 'Info',
              reason: 'Provisioning',
              message: '1/2 ready',
              children: [{ name: 'Machine/prod-workers-1', ready: 'False', severity: 'Error', reason: 'boot-failed', message: 'no answer\nafter 10 m' }],
            },
          ],
        },
      ],
      now,
    );
    assert.equal(
      text,
      [
        'NAME                         READY   SEVERITY   REASON         SINCE   MESSAGE',
        'Cluster/prod                 True                              5m',
        '├─ControlPlane               True                                      1/1 ready',
        '│ └─Machine/prod-cp-0        True                              6m',
        '└─NodePool/workers           False   Info       Provisioning           1/2 ready',
        '  └─Machine/prod-workers-1   False   Error      boot-failed            no answer after 10 m',
        '',
      ].join('\n'),
    );
  });
});
