import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@flotilla/telemetry';
import { useInMemorySpans, type InMemorySpans } from '@flotilla/telemetry/testing';
import { register } from 'prom-client';
import { httpTelemetry, UNMATCHED_ROUTE } from './http-telemetry.js';

type Line = Record<string, unknown>;

describe('httpTelemetry', () => {
  let spans: InMemorySpans;
  let server: Server;
  let url: string;
  const lines: Line[] = [];

  before(async () => {
    spans = useInMemorySpans();
    const logger = createLogger({ name: 'kit-test', destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    const middleware = httpTelemetry(logger);
    // Stands in for Express and the guard: the route the router matched and the caller it verified.
    server = createServer((request: IncomingMessage & { route?: { path: string }; principal?: { subject: string } }, response) =>
      middleware(request, response, () => {
        const path = (request.url ?? '').split('?')[0]!;
        if (path.startsWith('/things/')) request.route = { path: '/things/:id' };
        if (request.headers.authorization === 'Bearer t0ken') request.principal = { subject: 'alice' };
        response.statusCode = path === '/things/missing' ? 404 : 200;
        response.end('{}');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await spans.shutdown();
  });

  const lineOf = async (traceId: string): Promise<Line> => {
    for (let tries = 0; tries < 100; tries++) {
      const line = lines.find((entry) => entry['trace_id'] === traceId);
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`no access line with trace ${traceId}`);
  };

  it('answers with traceresponse and x-trace-id, and logs one line with the route pattern, status, duration and caller', async () => {
    const response = await fetch(`${url}/things/42?secret=1`, { headers: { authorization: 'Bearer t0ken' } });
    assert.equal(response.status, 200);
    const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(response.headers.get('traceresponse') ?? '') ?? [];
    assert.ok(traceId && spanId, `traceresponse: ${response.headers.get('traceresponse')}`);
    assert.equal(response.headers.get('x-trace-id'), traceId);

    const line = await lineOf(traceId);
    assert.deepEqual(
      { msg: line['msg'], method: line['method'], route: line['route'], status: line['status'], caller: line['caller'], span_id: line['span_id'] },
      { msg: 'request', method: 'GET', route: '/things/:id', status: 200, caller: 'alice', span_id: spanId },
    );
    assert.equal(typeof line['durationMs'], 'number');
    assert.ok(!JSON.stringify(lines).includes('t0ken'), 'the token is never logged');
    assert.ok(!JSON.stringify(lines).includes('secret=1'), 'the raw path is not logged');

    const span = spans.spans().find((recorded) => recorded.spanContext().spanId === spanId);
    assert.equal(span?.name, 'GET /things/:id');
  });

  it('continues the caller’s trace, calls an unverified caller anonymous, and an unmatched path (unmatched)', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${url}/nowhere/7`, { headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } });
    assert.equal(response.headers.get('x-trace-id'), callerTrace);
    const line = await lineOf(callerTrace);
    assert.deepEqual([line['route'], line['caller']], [UNMATCHED_ROUTE, 'anonymous']);
  });

  it('counts requests per route and status, and leaves probes and scrapes out of the log and the histogram', async () => {
    const missing = await fetch(`${url}/things/missing`);
    const probeTraces: string[] = [];
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      const response = await fetch(`${url}${probe}`);
      probeTraces.push(response.headers.get('x-trace-id') ?? '');
    }
    assert.ok(probeTraces.every(Boolean), 'probes still name their trace');
    await lineOf(missing.headers.get('x-trace-id') ?? '');
    const metrics = await register.getSingleMetricAsString('flotilla_http_request_duration_seconds');
    assert.match(metrics, /flotilla_http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status="404"\} 1/);
    assert.doesNotMatch(metrics, /healthz|readyz|\/metrics/);
    // Time for a line that should not exist to appear.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!lines.some((line) => probeTraces.includes(String(line['trace_id']))), 'probes and scrapes are not logged');
  });
});
