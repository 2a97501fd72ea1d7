import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, createEvent, eventsSubject, NodesProvisioned, streamName, type EventOf } from '@flotilla/contracts';
import { useInMemorySpans, type InMemorySpans } from '@flotilla/telemetry/testing';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { Controller, Global, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import type { BusConnection, BusOptions } from '../src/index.js';
import type { TestSchema } from '../src/testing/index.js';

// The code under test is imported only once the in-memory provider is installed, and one provider
// serves the whole file: OpenTelemetry's ProxyTracer keeps the first real tracer it resolves, and
// useInMemorySpans() swaps the API's proxy provider (`trace.disable()`), so a tracer taken at
// import time, or resolved against an earlier in-memory provider, would not record into this one.
let lib: typeof import('../src/index.js');
let testing: typeof import('../src/testing/index.js');
let requests: typeof import('./support/requests.js');
let streams: typeof import('./support/streams.js');
let ledger: typeof import('./support/test-app.js');
let memory: InMemorySpans;

before(async () => {
  memory = useInMemorySpans({ serviceName: 'messaging-tracing-test' });
  [lib, testing, requests, streams, ledger] = await Promise.all([
    import('../src/index.js'),
    import('../src/testing/index.js'),
    import('./support/requests.js'),
    import('./support/streams.js'),
    import('./support/test-app.js'),
  ]);
});

after(async () => {
  await memory.shutdown();
});

type RecordedSpan = ReturnType<InMemorySpans['spans']>[number];

const traceparentOf = (span: RecordedSpan): string => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

function describeSpans(spans: RecordedSpan[]): string {
  return spans
    .map((span) => `${span.name} [${String(span.attributes[lib.MessagingAttributes.operationType] ?? '-')}] ${span.spanContext().spanId} <- ${span.parentSpanContext?.spanId ?? 'root'}`)
    .join('\n  ');
}

describe('trace context across publish -> outbox -> relay -> consume', () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let options: BusOptions;
  let app: INestApplication;

  before(async () => {
    const { BusConnection, busOptions } = lib;
    const { createTestSchema, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } = testing;
    bus = await BusConnection.open(TEST_NATS_URL, 'tracing-int-test');
    schema = await createTestSchema(ledger.MIGRATIONS);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    options = busOptions({ service: 'ledger', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, relayPollMs: 200 });
    // Started outside any span, so the consumers' and relay's own context is the empty one.
    app = await ledger.startLedgerApp({ schema, bus: options });
  });

  after(async () => {
    await ledger.closeLedgerApp(app);
    await testing.deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('links root, send, process, relay send and process in one trace, with messaging attributes', async () => {
    memory.reset();
    const requestedSubject = eventsSubject(options, ClusterRequested.channel);
    const derivedSubject = eventsSubject(options, NodesProvisioned.channel);
    const requestedGroup = lib.durableName('ledger', ClusterRequested.channel);
    const derivedGroup = lib.durableName('ledger', NodesProvisioned.channel);

    // An outside publisher, inside a span of its own (an HTTP request, a CLI command...).
    const event = createEvent(ClusterRequested, { subject: 'traced', source: '/tests/outside-publisher' }, requests.clusterSpec('traced'));
    const root = trace.getTracer('tracing-int-test').startSpan('outside request');
    await context.with(trace.setSpan(context.active(), root), () => lib.publishEvent(bus.js, requestedSubject, event));
    root.end();

    await testing.eventually(async () => {
      const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM nodes_seen WHERE cluster_id = 'traced'`);
      return rows[0]?.n === 1 ? true : undefined;
    }, 10_000, 'the derived event to be handled');

    const find = (operation: string, destination: string) => (span: RecordedSpan) =>
      span.attributes[lib.MessagingAttributes.operationType] === operation && span.attributes[lib.MessagingAttributes.destination] === destination;
    // The last span of the chain (the ack of the derived event) ends after the handler's commit.
    const spans = await testing.eventually(() => (memory.spans().some(find('settle', derivedSubject)) ? memory.spans() : undefined), 5_000, 'the settle span of the derived event');
    const one = (what: string, predicate: (span: RecordedSpan) => boolean): RecordedSpan => {
      const matching = spans.filter(predicate);
      assert.equal(matching.length, 1, `exactly one ${what} span among:\n  ${describeSpans(spans)}`);
      return matching[0]!;
    };

    const rootSpan = one('root', (span) => span.name === 'outside request');
    const publishSend = one('publisher send', find('send', requestedSubject));
    const requestedProcess = one('ClusterRequested process', find('process', requestedSubject));
    const requestedSettle = one('ClusterRequested settle', find('settle', requestedSubject));
    const relaySend = one('relay send', find('send', derivedSubject));
    const derivedProcess = one('NodesProvisioned process', find('process', derivedSubject));
    const derivedSettle = one('NodesProvisioned settle', find('settle', derivedSubject));
    assert.equal(spans.length, 7, `no other spans:\n  ${describeSpans(spans)}`);

    // One trace, from the outside request to the second handler.
    const traceId = rootSpan.spanContext().traceId;
    for (const span of spans) assert.equal(span.spanContext().traceId, traceId, `${span.name} is in the root's trace`);

    // Parent links form the chain root -> send -> process -> (outbox, relay) send -> process.
    const parentOf = (span: RecordedSpan) => span.parentSpanContext?.spanId;
    assert.equal(parentOf(rootSpan), undefined);
    assert.equal(parentOf(publishSend), rootSpan.spanContext().spanId, 'publisher send is a child of the root');
    assert.equal(parentOf(requestedProcess), publishSend.spanContext().spanId, 'process is a child of the publisher send');
    assert.equal(parentOf(relaySend), requestedProcess.spanContext().spanId, 'relay send is a child of the handler that emitted the event');
    assert.equal(parentOf(derivedProcess), relaySend.spanContext().spanId, 'second process is a child of the relay send');
    // Settling belongs to the delivered message's context, next to its process span.
    assert.equal(parentOf(requestedSettle), publishSend.spanContext().spanId);
    assert.equal(parentOf(derivedSettle), relaySend.spanContext().spanId);
    assert.equal(requestedProcess.parentSpanContext?.isRemote, true, 'the process span continues a context that came over the wire');
    assert.equal(derivedProcess.parentSpanContext?.isRemote, true);

    // The context really travelled in the outbox row and the message headers.
    const [row] = await probe.query<{ event_id: string; traceparent: string }[]>(`SELECT event_id, headers->>'traceparent' AS traceparent FROM outbox WHERE subject = $1`, [derivedSubject]);
    assert.ok(row, 'the outbox row of the derived event');
    assert.equal(row.traceparent, traceparentOf(requestedProcess), 'the outbox row carries the handler span context');
    const [published] = await streams.readStream(bus.jsm, streamName(options, 'events'), derivedSubject);
    assert.ok(published, 'the derived event in the stream');
    assert.equal(published.headers['traceparent'], traceparentOf(relaySend), 'the relay sends its own span context');
    const [original] = await streams.readStream(bus.jsm, streamName(options, 'events'), requestedSubject);
    assert.equal(original?.headers['traceparent'], traceparentOf(publishSend));
    const derivedId = row.event_id;
    assert.equal(published.headers['ce-id'], derivedId);

    // Messaging semantic conventions.
    const expectations: [RecordedSpan, { operation: string; destination: string; messageId: string; kind: SpanKind; group?: string }][] = [
      [publishSend, { operation: 'send', destination: requestedSubject, messageId: event.id, kind: SpanKind.PRODUCER }],
      [requestedProcess, { operation: 'process', destination: requestedSubject, messageId: event.id, kind: SpanKind.CONSUMER, group: requestedGroup }],
      [requestedSettle, { operation: 'settle', destination: requestedSubject, messageId: event.id, kind: SpanKind.CLIENT, group: requestedGroup }],
      [relaySend, { operation: 'send', destination: derivedSubject, messageId: derivedId, kind: SpanKind.PRODUCER }],
      [derivedProcess, { operation: 'process', destination: derivedSubject, messageId: derivedId, kind: SpanKind.CONSUMER, group: derivedGroup }],
      [derivedSettle, { operation: 'settle', destination: derivedSubject, messageId: derivedId, kind: SpanKind.CLIENT, group: derivedGroup }],
    ];
    for (const [span, expected] of expectations) {
      const attributes = span.attributes;
      assert.equal(attributes[lib.MessagingAttributes.system], 'nats', `${span.name}: messaging.system`);
      assert.equal(attributes[lib.MessagingAttributes.destination], expected.destination, `${span.name}: destination`);
      assert.equal(attributes[lib.MessagingAttributes.operationType], expected.operation, `${span.name}: operation type`);
      assert.ok(['send', 'process', 'settle'].includes(String(attributes[lib.MessagingAttributes.operationType])));
      assert.equal(attributes[lib.MessagingAttributes.messageId], expected.messageId, `${span.name}: message id is the event id`);
      assert.equal(span.kind, expected.kind, `${span.name}: kind`);
      if (expected.group !== undefined) assert.equal(attributes[lib.MessagingAttributes.consumerGroup], expected.group, `${span.name}: consumer group`);
      else assert.equal(attributes[lib.MessagingAttributes.consumerGroup], undefined, `${span.name}: a producer has no consumer group`);
      assert.equal(span.status.code, 0, `${span.name}: status unset (no error)`);
    }
    assert.equal(requestedProcess.attributes[lib.MessagingAttributes.cloudEventType], ClusterRequested.type);
    assert.equal(requestedProcess.attributes[lib.MessagingAttributes.cloudEventSubject], 'traced');
    assert.equal(derivedProcess.attributes[lib.MessagingAttributes.cloudEventType], NodesProvisioned.type);
    assert.equal(requestedProcess.attributes[lib.MessagingAttributes.deliveryCount], 1);
    assert.equal(typeof publishSend.attributes['messaging.nats.stream_sequence'], 'number');

    // Time flows along the chain.
    const startNs = (span: RecordedSpan) => BigInt(span.startTime[0]) * 1_000_000_000n + BigInt(span.startTime[1]);
    const chain = [rootSpan, publishSend, requestedProcess, relaySend, derivedProcess];
    for (let i = 1; i < chain.length; i++) assert.ok(startNs(chain[i]!) >= startNs(chain[i - 1]!), `${chain[i]!.name} starts after ${chain[i - 1]!.name}`);
  });

  it('starts a trace at the publisher when there is no active span, and still carries it through', async () => {
    memory.reset();
    const requestedSubject = eventsSubject(options, ClusterRequested.channel);
    const derivedSubject = eventsSubject(options, NodesProvisioned.channel);
    const event = createEvent(ClusterRequested, { subject: 'untraced', source: '/tests/outside-publisher' }, requests.clusterSpec('untraced'));
    await lib.publishEvent(bus.js, requestedSubject, event);

    const spans = await testing.eventually(() => {
      const recorded = memory.spans();
      return recorded.some((span) => span.attributes[lib.MessagingAttributes.operationType] === 'settle' && span.attributes[lib.MessagingAttributes.destination] === derivedSubject) ? recorded : undefined;
    }, 10_000, 'the whole chain');
    const send = spans.find((span) => span.attributes[lib.MessagingAttributes.operationType] === 'send' && span.attributes[lib.MessagingAttributes.messageId] === event.id);
    assert.ok(send, `the publisher send span among:\n  ${describeSpans(spans)}`);
    assert.equal(send.parentSpanContext, undefined, 'the send span is the root');
    const traceIds = new Set(spans.map((span) => span.spanContext().traceId));
    assert.deepEqual([...traceIds], [send.spanContext().traceId], 'every span of the chain in the trace the publisher started');
  });
});

/**
 * A ledger whose ClusterRequested handler takes whole batches (@OnEventBatch) and emits each
 * derived event with `causedBy`. Built after the lib is imported (its decorators come from it).
 */
async function startBatchLedgerApp(schema: TestSchema, bus: BusOptions): Promise<INestApplication> {
  const { MessagingModule, OnEvent, OnEventBatch, UnitOfWork, startEventConsumers } = lib;

  @Controller()
  class BatchLedgerHandlers {
    constructor(@Inject(UnitOfWork) private readonly unitOfWork: InstanceType<typeof UnitOfWork>) {}

    @OnEventBatch(ClusterRequested)
    async onClusterRequested(@Payload() events: EventOf<typeof ClusterRequested>[]): Promise<void> {
      await this.unitOfWork.manager.query(
        `INSERT INTO requests_handled (cluster_id, times, deliveries, replica) SELECT id, 1, 1, 'batch' FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`,
        [events.map((event) => event.subject)],
      );
      for (const event of events) {
        this.unitOfWork.emit(NodesProvisioned, event.subject, { model: event.data.model, nodes: [{ name: `${event.subject}-cp-0`, role: 'control-plane', addresses: [] }] }, { causedBy: event });
      }
    }

    @OnEvent(NodesProvisioned)
    async onNodesProvisioned(@Payload() event: EventOf<typeof NodesProvisioned>): Promise<void> {
      await this.unitOfWork.manager.query(`INSERT INTO nodes_seen (cluster_id, times) VALUES ($1, 1) ON CONFLICT DO NOTHING`, [event.subject]);
    }
  }

  @Global()
  @Module({ providers: [{ provide: DataSource, useFactory: async () => new DataSource(schema.dataSourceOptions()).initialize() }], exports: [DataSource] })
  class DatabaseModule {}

  @Module({ imports: [DatabaseModule, MessagingModule.forRoot(bus)], controllers: [BatchLedgerHandlers] })
  class BatchLedgerModule {}

  const app = await NestFactory.create(BatchLedgerModule, { logger: ['error'] });
  await app.init();
  await startEventConsumers(app);
  return app;
}

describe('trace context through a batch handler (@OnEventBatch, emit with causedBy)', () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let options: BusOptions;

  before(async () => {
    memory.reset();
    bus = await lib.BusConnection.open(testing.TEST_NATS_URL, 'batch-tracing-int-test');
    schema = await testing.createTestSchema(ledger.MIGRATIONS);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    options = lib.busOptions({ service: 'ledger', prefix: testing.testBusPrefix(), natsUrl: testing.TEST_NATS_URL, streamMaxBytes: testing.TEST_STREAM_MAX_BYTES, relayPollMs: 200 });
  });

  after(async () => {
    await testing.deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('links the batch process span to every message, and each derived event continues its own trace', async () => {
    const requestedSubject = eventsSubject(options, ClusterRequested.channel);
    const derivedSubject = eventsSubject(options, NodesProvisioned.channel);
    const group = lib.durableName('ledger', ClusterRequested.channel);
    const ids = ['batch-a', 'batch-b', 'batch-c'];

    // Published before the consumer starts, each by its own outside request, so they are
    // handled in batches (how they are split between batches is up to the consumer).
    await lib.ensureStreams(bus.jsm, options);
    const tracer = trace.getTracer('tracing-int-test');
    const published = new Map<string, EventOf<typeof ClusterRequested>>();
    for (const id of ids) {
      const event = createEvent(ClusterRequested, { subject: id, source: '/tests/outside-publisher' }, requests.clusterSpec(id));
      const root = tracer.startSpan(`outside request ${id}`);
      await context.with(trace.setSpan(context.active(), root), () => lib.publishEvent(bus.js, requestedSubject, event));
      root.end();
      published.set(id, event);
    }

    const app = await startBatchLedgerApp(schema, options);
    try {
      await testing.eventually(async () => {
        const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM nodes_seen WHERE cluster_id LIKE 'batch-%'`);
        return rows[0]?.n === ids.length ? true : undefined;
      }, 10_000, 'every derived event handled');
      const settledDerived = (spans: RecordedSpan[]) => spans.filter((span) => span.attributes[lib.MessagingAttributes.operationType] === 'settle' && span.attributes[lib.MessagingAttributes.destination] === derivedSubject);
      const spans = await testing.eventually(() => (settledDerived(memory.spans()).length === ids.length ? memory.spans() : undefined), 5_000, 'the settle spans of the derived events');
      const derived = new Map((await streams.readStream(bus.jsm, streamName(options, 'events'), derivedSubject)).map((message) => [message.headers['ce-subject'], message]));
      const batchSpans = spans.filter((span) => span.attributes[lib.MessagingAttributes.operationType] === 'process' && span.attributes[lib.MessagingAttributes.destination] === requestedSubject);
      assert.ok(batchSpans.length >= 1 && batchSpans.length <= ids.length, `one process span per batch:\n  ${describeSpans(spans)}`);

      let linked = 0;
      for (const span of batchSpans) {
        assert.equal(span.kind, SpanKind.CONSUMER);
        assert.equal(span.attributes[lib.MessagingAttributes.system], 'nats');
        assert.equal(span.attributes[lib.MessagingAttributes.consumerGroup], group);
        assert.equal(span.attributes[lib.MessagingAttributes.batchCount], span.links.length, 'message count = links');
        assert.equal(span.parentSpanContext, undefined, 'a batch process span starts its own trace and links the messages');
        linked += span.links.length;
      }
      assert.equal(linked, ids.length, 'every message linked from exactly one batch span');

      for (const id of ids) {
        const event = published.get(id)!;
        const root = spans.find((span) => span.name === `outside request ${id}`);
        assert.ok(root, `root span of ${id}`);
        const traceId = root.spanContext().traceId;
        const send = spans.find((span) => span.attributes[lib.MessagingAttributes.operationType] === 'send' && span.attributes[lib.MessagingAttributes.messageId] === event.id);
        assert.ok(send, `publisher send span of ${id}`);
        assert.equal(send.parentSpanContext?.spanId, root.spanContext().spanId);
        const batch = batchSpans.find((span) => span.links.some((link) => link.context.spanId === send.spanContext().spanId && link.context.traceId === traceId));
        assert.ok(batch, `a batch process span links ${id}'s send span`);

        const derivedMessage = derived.get(id);
        assert.ok(derivedMessage, `derived event of ${id} in the stream`);
        const derivedId = derivedMessage.headers['ce-id'];
        const relaySend = spans.find((span) => span.attributes[lib.MessagingAttributes.operationType] === 'send' && span.attributes[lib.MessagingAttributes.messageId] === derivedId);
        assert.ok(relaySend, `relay send span of ${id}'s derived event`);
        assert.equal(relaySend.spanContext().traceId, traceId, `${id}: the derived event continues the trace of the event that caused it`);
        assert.equal(relaySend.parentSpanContext?.spanId, send.spanContext().spanId, `${id}: causedBy makes the relay send a child of the causing message's context`);
        const derivedProcess = spans.find((span) => span.attributes[lib.MessagingAttributes.operationType] === 'process' && span.attributes[lib.MessagingAttributes.messageId] === derivedId);
        assert.ok(derivedProcess, `process span of ${id}'s derived event`);
        assert.equal(derivedProcess.spanContext().traceId, traceId);
        assert.equal(derivedProcess.parentSpanContext?.spanId, relaySend.spanContext().spanId);
        const settle = spans.find((span) => span.attributes[lib.MessagingAttributes.operationType] === 'settle' && span.attributes[lib.MessagingAttributes.messageId] === event.id);
        assert.equal(settle?.parentSpanContext?.spanId, send.spanContext().spanId, `${id}: the ack belongs to the message's own context`);
      }
    } finally {
      await ledger.closeLedgerApp(app);
    }
  });
});
