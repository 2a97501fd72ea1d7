import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chaosSchedule } from './chaos-schedule.js';

describe('chaos schedule', () => {
  const options = { seed: 42, kills: 5, processes: 10, badMessages: 5 };

  it('is the same for the same seed, so a failing run can be replayed', () => {
    assert.deepEqual(chaosSchedule(options), chaosSchedule(options));
    assert.notDeepEqual(chaosSchedule(options), chaosSchedule({ ...options, seed: 43 }));
  });

  it('holds the kills, one NATS and one PostgreSQL restart and the bad messages, in order, within the window', () => {
    const schedule = chaosSchedule(options);
    const kinds = schedule.map(({ fault }) => fault.kind);
    assert.equal(kinds.filter((kind) => kind === 'kill').length, 5);
    assert.equal(kinds.filter((kind) => kind === 'nats-restart').length, 1);
    assert.equal(kinds.filter((kind) => kind === 'postgres-restart').length, 1);
    assert.deepEqual(schedule.flatMap(({ fault }) => (fault.kind === 'bad-message' ? [fault.index] : [])).sort(), [0, 1, 2, 3, 4]);
    assert.ok(schedule.every(({ at }, i) => at >= 0.05 && at <= 0.85 && (i === 0 || schedule[i - 1]!.at <= at)));
    assert.ok(schedule.every(({ fault }) => fault.kind !== 'kill' || (fault.victim >= 0 && fault.victim < 10)));
  });
});
