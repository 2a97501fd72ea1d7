import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, duration, renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns columns three spaces apart like kubectl, upper-case headers, <none> for empty cells, no trailing spaces', () => {
    const text = renderTable(
      [
        { header: 'name', value: (row: { name: string; status: string; note: string }) => row.name },
        { header: 'status', value: (row) => row.status },
        { header: 'note', value: (row) => row.note },
      ],
      [
        { name: 'prod-eu-1', status: 'Running', note: '' },
        { name: 'edge', status: 'Provisioning', note: 'scaling' },
      ],
    );
    assert.equal(text, ['NAME        STATUS         NOTE', 'prod-eu-1   Running        <none>', 'edge        Provisioning   scaling', ''].join('\n'));
  });

  it('prints the header alone for no rows', () => {
    assert.equal(renderTable([{ header: 'name', value: (row: string) => row }], []), 'NAME\n');
  });
});

describe('age and duration', () => {
  const now = new Date('2026-01-10T12:00:00Z');
  it('reads like kubectl', () => {
    assert.equal(age('2026-01-10T11:59:18Z', now), '42s');
    assert.equal(age('2026-01-10T11:57:30Z', now), '2m30s');
    assert.equal(age('2026-01-10T11:15:00Z', now), '45m');
    assert.equal(age('2026-01-10T08:48:00Z', now), '3h12m');
    assert.equal(age('2026-01-09T00:00:00Z', now), '36h');
    assert.equal(age('2026-01-05T07:00:00Z', now), '5d5h');
    assert.equal(age('2025-11-01T12:00:00Z', now), '70d');
    assert.equal(age('2023-01-01T12:00:00Z', now), '3y');
  });
  it('never goes negative, and says when a time is unreadable', () => {
    assert.equal(age('2026-01-10T12:00:05Z', now), '0s');
    assert.equal(age('2026-01-10T11:59:59.400Z', now), '0s');
    assert.equal(age('yesterday', now), '<unknown>');
    assert.equal(duration(153), '153ms');
  });
});
