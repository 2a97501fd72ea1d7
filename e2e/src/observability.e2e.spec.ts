import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClusterRequested, eventsSubject, streamName, TRACEPARENT_HEADER } from '@flotilla/contracts';
import { eventually } from '@flotilla/messaging/testing';
import { parse as parseYaml } from 'yaml';
import { Fleet } from './fleet-harness.js';

const SERVICES = ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'] as const;
const observability = fileURLToPath(new URL('../../../deploy/observability/', import.meta.url));
const TRACE_RESPONSE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

type LogLine = Record<string, unknown>;

/** The JSON lines a service wrote, parsed (anything else it printed is skipped). */
function logLines(output: readonly string[]): LogLine[] {
  return output.flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === 'object' && parsed !== null ? [Object.fromEntries(Object.entries(parsed))] : [];
    } catch {
      return [];
    }
  });
}

/** Metric names a Prometheus text exposition declares: each family, with its histogram and summary series. */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      if (kind === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{\s]/, 1)[0]!);
    }
  }
  return names;
}

const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'deriv', 'delta', 'histogram_quantile', 'and', 'or', 'unless', 'bool', 'offset', 'abs', 'clamp_min']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers,
 * grouping clauses, ranges, numbers, Grafana variables and PromQL's own words are taken out.
 * A word this does not know stays in, and must then be exposed, so a new function fails loudly here.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  return (stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((word) => !PROMQL_WORDS.has(word));
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(`${observability}grafana/flotilla-dashboard.json`, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

function alertExpressions(): { alert: string; expr: string }[] {
  const rules = parseYaml(readFileSync(`${observability}prometheus/flotilla-alerts.yaml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules);
}

describe('traces and metrics with no collector', { timeout: 300_000 }, () => {
  let fleet: Fleet;

  before(async () => {
    // What `npm start` runs with when no OTLP collector answers: nowhere to send spans.
    fleet = new Fleet({ services: [...SERVICES], env: { OTEL_TRACES_EXPORTER: 'none', LOG_LEVEL: 'info', SIM_BOOT_MS: '300' } });
    await fleet.start();
  });

  after(async () => {
    await fleet?.stop();
  });

  const inventory = () => fleet.service('inventory');
  const accessLines = () => logLines(inventory().output).filter((line) => line['msg'] === 'request');
  const traceOf = (response: Response): string => {
    const traceResponse = response.headers.get('traceresponse') ?? '';
    const match = TRACE_RESPONSE.exec(traceResponse);
    assert.ok(match, `traceresponse "${traceResponse}" is not W3C Trace Context level 2`);
    assert.equal(response.headers.get('x-trace-id'), match[1]);
    return match[1]!;
  };

  it('answers with the trace id, which the event, the cluster history and the access log line share', async () => {
    const admin = await fleet.auth('admin');
    const token = admin['authorization']!.slice('Bearer '.length);
    const body = {
      id: 'traced',
      name: 'traced',
      model: 'platform-provisioned',
      kubernetesVersion: '1.34',
      controlPlane: { count: 1, machineSize: 'small' },
      nodePools: [{ name: 'workers', count: 1, machineSize: 'small' }],
    };
    const created = await fetch(`${inventory().url}/api/v1/clusters`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(created.status, 202, await created.clone().text());
    const traceId = traceOf(created);

    // The event it emitted continues the request's trace.
    const stored = await eventually(
      () => fleet.bus.jsm.streams.getMessage(streamName({ prefix: fleet.prefix }, 'events'), { last_by_subj: eventsSubject({ prefix: fleet.prefix }, ClusterRequested.channel) }).then((message) => message ?? undefined, () => undefined),
      10_000,
      'ClusterRequested on the bus',
    );
    assert.ok(stored);
    assert.equal(stored.header.get('ce-subject'), 'traced');
    assert.match(stored.header.get(TRACEPARENT_HEADER), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // The inventory's history of the cluster shows it under that trace.
    const history = await eventually(async () => {
      const response = await fetch(`${inventory().url}/api/v1/clusters/traced/history`, { headers: await fleet.auth('viewer') });
      const page = (await response.json()) as { items?: { type: string; traceId: string | null }[] };
      return page.items?.find((line) => line.type === ClusterRequested.type);
    }, 10_000, 'the request in the history');
    assert.equal(history.traceId, traceId);

    // One access line for the request: pattern, status, duration, caller, trace id; never the token.
    const line = await eventually(() => accessLines().find((entry) => entry['trace_id'] === traceId), 5_000, 'the access log line');
    assert.equal(line['method'], 'POST');
    assert.equal(line['route'], '/api/v1/clusters');
    assert.equal(line['status'], 202);
    assert.equal(line['caller'], 'e2e-admin');
    assert.equal(line['service'], 'inventory');
    assert.equal(typeof line['durationMs'], 'number');
    assert.match(String(line['span_id']), /^[0-9a-f]{16}$/);
    assert.ok(!inventory().output.some((entry) => entry.includes(token)), 'the token was logged');
  });

  it('puts a trace id on errors too, logs the route pattern and the anonymous caller, and keeps probes quiet', async () => {
    const missing = await fetch(`${inventory().url}/api/v1/clusters/no-such-cluster`, { headers: await fleet.auth('viewer') });
    assert.equal(missing.status, 404);
    const missingTrace = traceOf(missing);
    const refused = await fetch(`${inventory().url}/api/v1/clusters`);
    assert.equal(refused.status, 401);
    const refusedTrace = traceOf(refused);

    // A caller's traceparent is continued: the answer names the caller's trace.
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const continued = await fetch(`${fleet.service('upgrade-planner').url}/api/v1/upgrade-plans`, { headers: { ...(await fleet.auth('viewer')), traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } });
    assert.equal(traceOf(continued), callerTrace);

    await fetch(`${inventory().url}/healthz`);
    const lines = await eventually(() => {
      const all = accessLines();
      const found = [all.find((entry) => entry['trace_id'] === missingTrace), all.find((entry) => entry['trace_id'] === refusedTrace)];
      return found.every(Boolean) ? (found as LogLine[]) : undefined;
    }, 5_000, 'the access log lines');
    assert.deepEqual([lines[0]!['route'], lines[0]!['status'], lines[0]!['caller']], ['/api/v1/clusters/:id', 404, 'e2e-viewer']);
    assert.deepEqual([lines[1]!['route'], lines[1]!['status'], lines[1]!['caller']], ['/api/v1/clusters', 401, 'anonymous']);
    assert.ok(!accessLines().some((entry) => ['/healthz', '/readyz', '/metrics'].includes(String(entry['route']))), 'probes and scrapes are not logged');
  });

  it('exposes every metric the Grafana dashboard and the alert rules name, across the services', async () => {
    const expositions = new Map<string, string>();
    await eventually(async () => {
      for (const service of fleet.processes) expositions.set(service.name, await (await fetch(`${service.url}/metrics`)).text());
      // The consumers report their lag every 5 s: wait for the first report.
      return [...expositions.values()].some((text) => /^flotilla_consumer_pending\{/m.test(text)) ? true : undefined;
    }, 15_000, 'consumer lag reported');
    const exposed = new Set([...expositions.values()].flatMap((text) => [...exposedNames(text)]));

    const named = [
      ...dashboardExpressions().map((expr) => ({ where: 'dashboard', expr })),
      ...alertExpressions().map(({ alert, expr }) => ({ where: `alert ${alert}`, expr })),
    ];
    assert.ok(named.length >= 15, 'the dashboard and the rules were read');
    for (const { where, expr } of named) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      // `up` is Prometheus's own, one per scrape target.
      for (const name of names) if (name !== 'up') assert.ok(exposed.has(name), `${where} reads ${name}, which no service exposes: ${expr}`);
    }
    for (const alert of ['FlotillaServiceDown', 'FlotillaConsumerLagGrowing', 'FlotillaDeadLetters', 'FlotillaOutboxBacklog', 'FlotillaHttp5xxRate']) {
      assert.ok(alertExpressions().some((rule) => rule.alert === alert), `alert ${alert}`);
    }

    // A few values, not only names: the fleet, the requests above, the dead letters of each consumer, the process.
    const inventoryMetrics = expositions.get('inventory')!;
    assert.match(inventoryMetrics, /^flotilla_clusters\{model="platform-provisioned",status="[A-Za-z]+"\} 1$/m);
    assert.match(inventoryMetrics, /^flotilla_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/clusters",status="202"\} 1$/m);
    assert.match(inventoryMetrics, /^flotilla_dead_letters\{consumer="inventory__all"\} 0$/m);
    assert.match(expositions.get('provisioner')!, /^flotilla_dead_letters\{consumer="provisioner__cluster_requested_v1"\} 0$/m);
    for (const [service, text] of expositions) {
      assert.match(text, /^process_cpu_user_seconds_total \d/m, `${service}: process metrics`);
      assert.match(text, /^flotilla_outbox_backlog \d+$/m, `${service}: outbox backlog`);
      assert.doesNotMatch(text, /route="\/(healthz|readyz|metrics)"/, `${service}: probes are not counted`);
    }
  });
});
