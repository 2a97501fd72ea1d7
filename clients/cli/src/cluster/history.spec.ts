import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryLine } from '../api/types.js';
import { chainOf, eventName, renderTraceChains, serviceName, traceChains } from './history.js';

const line = (eventId: string, time: string, traceId: string | null, type: string, source: string): HistoryLine => ({ eventId, time, traceId, type: `io.flotilla.${type}.v1`, source, summary: type });
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
// Newest first, as the API answers.
const HISTORY = [
  line('e4', '2026-01-10T11:00:09.000Z', B, 'cluster.node-pool-scaled', '/flotilla/provisioner'),
  line('e3', '2026-01-10T11:00:05.000Z', B, 'cluster.node-pool-scale-requested', '/flotilla/inventory'),
  line('e2', '2026-01-10T11:00:01.250Z', A, 'cluster.ready', '/flotilla/provisioner'),
  line('e5', '2026-01-10T11:00:03.000Z', null, 'tunnel.connected', '/flotilla/tunnel-broker'),
  line('e1', '2026-01-10T11:00:00.000Z', A, 'cluster.requested', '/flotilla/inventory'),
];

describe('traceChains', () => {
  it('groups by trace id, each chain oldest first, chains by their first event, with their span', () => {
    const chains = traceChains(HISTORY);
    assert.deepEqual(
      chains.map((chain) => [chain.traceId, chain.events.map((event) => event.eventId), chain.spanMs]),
      [
        [A, ['e1', 'e2'], 1250],
        [null, ['e5'], 0],
        [B, ['e3', 'e4'], 4000],
      ],
    );
    assert.equal(chainOf(chains, 'e4')?.traceId, B);
    assert.equal(chainOf(chains, 'nope'), undefined);
  });

  it('prints each trace with its services, the time between events and a link to the trace UI', () => {
    const text = renderTraceChains(traceChains(HISTORY), 'http://jaeger:16686/');
    assert.equal(
      text.split('\n\n')[0],
      [
        `Trace ${A}: 2 events in 1s (inventory → provisioner)`,
        `  http://jaeger:16686/trace/${A}`,
        '  TIME                       SERVICE       EVENT               AFTER   SUMMARY',
        '  2026-01-10T11:00:00.000Z   inventory     cluster.requested           cluster.requested',
        '  2026-01-10T11:00:01.250Z   provisioner   cluster.ready       +1s     cluster.ready',
      ].join('\n'),
    );
    assert.match(text, /^Without a trace id: 1 event \(tunnel-broker\)$/m);
    assert.doesNotMatch(renderTraceChains(traceChains(HISTORY), undefined), /\/trace\//);
  });

  it('names events and services shortly', () => {
    assert.equal(eventName('io.flotilla.cluster.nodes-provisioned.v1'), 'cluster.nodes-provisioned');
    assert.equal(serviceName('/flotilla/upgrade-planner'), 'upgrade-planner');
    assert.equal(serviceName('/another-platform-service'), '/another-platform-service');
  });
});
