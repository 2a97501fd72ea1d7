import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { requestSpan, traceResponseHeader } from './request-span.js';
import { useInMemorySpans, type InMemorySpans } from './testing/index.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('requestSpan', () => {
  let memory: InMemorySpans;

  before(() => {
    memory = useInMemorySpans();
  });
  after(() => memory.shutdown());

  it("starts a server span continuing the caller's traceparent, active in run(), named after the route when it ends", () => {
    memory.reset();
    const span = requestSpan('GET', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
    assert.equal(span.spanContext?.traceId, CALLER_TRACE);
    assert.notEqual(span.spanContext?.spanId, CALLER_SPAN);
    assert.equal(span.run(() => trace.getActiveSpan()?.spanContext().spanId), span.spanContext?.spanId);
    span.end('/api/v1/clusters/:id', 503);

    const [recorded] = memory.spans();
    assert.equal(recorded?.name, 'GET /api/v1/clusters/:id');
    assert.equal(recorded.parentSpanContext?.spanId, CALLER_SPAN);
    assert.equal(recorded.attributes['http.route'], '/api/v1/clusters/:id');
    assert.equal(recorded.attributes['http.response.status_code'], 503);
    assert.equal(recorded.status.code, SpanStatusCode.ERROR);
  });

  it('starts a new trace for a caller that sent none', () => {
    const span = requestSpan('POST', {});
    assert.match(span.spanContext?.traceId ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(span.spanContext?.traceId, '0'.repeat(32));
    span.end('/api/v1/clusters', 202);
  });

  it("uses the HTTP instrumentation's span when one is active, and leaves ending it to the instrumentation", () => {
    memory.reset();
    trace.getTracer('test').startActiveSpan('GET', (server) => {
      const span = requestSpan('GET', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
      assert.deepEqual(span.spanContext, server.spanContext());
      span.end('/healthz', 200);
      assert.deepEqual(memory.spans(), []);
      server.end();
    });
    assert.equal(memory.spans().length, 1);
  });

  it('formats traceresponse as W3C Trace Context level 2', () => {
    assert.equal(traceResponseHeader({ traceId: CALLER_TRACE, spanId: CALLER_SPAN, traceFlags: 1 }), `00-${CALLER_TRACE}-${CALLER_SPAN}-01`);
    assert.equal(traceResponseHeader({ traceId: CALLER_TRACE, spanId: CALLER_SPAN, traceFlags: 0 }), `00-${CALLER_TRACE}-${CALLER_SPAN}-00`);
  });
});

describe('requestSpan without a tracer provider', () => {
  it('has no ids (OTEL_SDK_DISABLED): the answer then carries no trace headers', () => {
    assert.equal(requestSpan('GET', {}).spanContext, undefined);
  });
});
