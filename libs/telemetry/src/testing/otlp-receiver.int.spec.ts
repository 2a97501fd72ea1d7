// The receiver against the real OpenTelemetry exporters, over real HTTP: whatever the SDK sends
// (JSON or protobuf, compressed or not) must come out as the same flattened spans.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

/** Emits a parent and a child span through `exporter` and waits until they are sent. */
async function emitSpans(exporter: SpanExporter): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'receiver-test', 'service.version': '9.9.9' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('receiver-test-scope', '0.0.1');
  const parent = tracer.startSpan('reconcile cluster', { kind: SpanKind.SERVER });
  const child = tracer.startSpan(
    'publish ClusterReady',
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'cluster.id': 'c-1',
        'nodes.count': 3,
        'big.count': 2 ** 60,
        ratio: 0.25,
        ready: true,
        zones: ['a', 'b'],
        counts: [1, 2],
      },
    },
    trace.setSpan(context.active(), parent),
  );
  child.addEvent('retrying', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'bus unavailable' });
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((candidate) => candidate.name === name);
  assert.ok(span, `no span named ${name} among ${spans.map((candidate) => candidate.name).join(', ')}`);
  return span;
}

function assertFlattened(spans: ReceivedSpan[]): void {
  assert.equal(spans.length, 2);
  const parent = byName(spans, 'reconcile cluster');
  const child = byName(spans, 'publish ClusterReady');

  assert.equal(parent.kind, 'server');
  assert.equal(parent.parentSpanId, undefined);
  assert.equal(parent.serviceName, 'receiver-test');
  assert.equal(parent.resource['service.version'], '9.9.9');
  assert.deepEqual(parent.scope, { name: 'receiver-test-scope', version: '0.0.1' });
  assert.match(parent.traceId, /^[0-9a-f]{32}$/);
  assert.match(parent.spanId, /^[0-9a-f]{16}$/);

  assert.equal(child.kind, 'producer');
  assert.equal(child.traceId, parent.traceId);
  assert.equal(child.parentSpanId, parent.spanId);
  assert.deepEqual(child.attributes, {
    'cluster.id': 'c-1',
    'nodes.count': 3,
    // Sent as int64; beyond 2^53 a number would not be exact, so it comes back as a decimal string.
    'big.count': '1152921504606846976',
    ratio: 0.25,
    ready: true,
    zones: ['a', 'b'],
    counts: [1, 2],
  });
  assert.deepEqual(child.status, { code: 'error', message: 'bus unavailable' });
  assert.equal(child.events.length, 1);
  assert.equal(child.events[0]?.name, 'retrying');
  assert.deepEqual(child.events[0]?.attributes, { attempt: 2 });
  assert.match(child.startTimeUnixNano, /^\d{19}$/);
  assert.ok(BigInt(child.endTimeUnixNano) >= BigInt(child.startTimeUnixNano));
  assert.ok(BigInt(child.startTimeUnixNano) >= BigInt(parent.startTimeUnixNano));
}

describe('startOtlpReceiver', () => {
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.reset());
  after(() => receiver.close());

  it('decodes what the OTLP/HTTP JSON exporter sends', async () => {
    await emitSpans(new JsonExporter({ url: receiver.tracesUrl }));
    assertFlattened(receiver.spans());
  });

  it('decodes what the OTLP/HTTP protobuf exporter sends, into the same shape', async () => {
    await emitSpans(new ProtobufExporter({ url: receiver.tracesUrl }));
    assertFlattened(receiver.spans());
  });

  it('accepts gzip-compressed bodies (OTEL_EXPORTER_OTLP_COMPRESSION=gzip)', async () => {
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gzipped' } }] },
          scopeSpans: [
            {
              scope: { name: 'manual' },
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  name: 'compressed',
                  kind: 'SPAN_KIND_CONSUMER',
                  startTimeUnixNano: '1700000000000000000',
                  // Some encoders send 64-bit integers as JSON numbers.
                  endTimeUnixNano: 1700000000000001024,
                  attributes: [{ key: 'attempt', value: { intValue: '3' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(request)),
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const [span, ...others] = receiver.spans();
    assert.deepEqual(others, []);
    assert.equal(span?.serviceName, 'gzipped');
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.spanId, 'eee19b7ec3c1b174');
    assert.equal(span.kind, 'consumer');
    assert.equal(span.startTimeUnixNano, '1700000000000000000');
    assert.equal(span.endTimeUnixNano, '1700000000000001024');
    assert.deepEqual(span.attributes, { attempt: 3 });
  });

  it('waitFor resolves with the matching spans once they arrive', async () => {
    const waiting = receiver.waitFor((span) => span.kind === 'producer', 5_000);
    await emitSpans(new JsonExporter({ url: receiver.tracesUrl }));
    const spans = await waiting;
    assert.deepEqual(
      spans.map((span) => span.name),
      ['publish ClusterReady'],
    );
  });

  it('waitFor rejects with what did arrive when nothing matches in time', async () => {
    await emitSpans(new JsonExporter({ url: receiver.tracesUrl }));
    await assert.rejects(receiver.waitFor((span) => span.name === 'never sent', 200), (error: Error) => {
      assert.match(error.message, /No matching span within 200 ms/);
      assert.match(error.message, /receiver-test\/reconcile cluster/);
      return true;
    });
  });

  it('refuses other content types, paths and malformed bodies with a clear status', async () => {
    const text = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    assert.equal(text.status, 415);
    assert.match(await text.text(), /application\/json or application\/x-protobuf/);

    const metrics = await fetch(`${receiver.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(metrics.status, 404);
    await metrics.body?.cancel();

    const broken = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'no ids' }] }] }] }),
    });
    assert.equal(broken.status, 400);
    assert.match(await broken.text(), /traceId missing/);

    const truncated = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0x05, 0x0a]),
    });
    assert.equal(truncated.status, 400);
    await truncated.body?.cancel();

    assert.deepEqual(receiver.spans(), []);
  });

  it('answers an empty export like a collector', async () => {
    const response = await fetch(receiver.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
  });
});
