import { Controller, Get, Header, HttpStatus, Inject, Optional, Res } from '@nestjs/common';
import { Public } from '@flotilla/auth';
import { BUS_OPTIONS, BusConnection, JetStreamServer, MessagingMetrics, OutboxRelay, reportDeadLetterDepth, type BusOptions } from '@flotilla/messaging';
/** The one thing readiness needs from the HTTP response. */
interface StatusSettable {
  status(code: number): unknown;
}
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { describes } from './openapi/answer-schema.js';
import { ApiAnswer, ApiErrors } from './openapi/decorators.js';
import { PolicyInForce } from './policy/policy-in-force.js';

const PROBE_TIMEOUT_MS = 2_000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

type Readiness = { status: 'ready' | 'not-ready'; checks: Record<string, string>; policy?: { release: string; revision: string; source: string } };

const Liveness = z.object({ status: z.literal('ok') });
const Readiness = describes<Readiness>()(
  z.object({
    status: z.enum(['ready', 'not-ready']),
    checks: z.record(z.string(), z.string()).describe('postgres and nats: ok, or why not'),
    policy: z.object({ release: z.string(), revision: z.string(), source: z.string() }).optional().describe('The version policy the service judges by now'),
  }),
);
const UNEXPECTED = 'An unexpected failure (the log has it)';

/** Liveness, readiness and Prometheus metrics: the same three endpoints on every service. */
@Controller()
@Public('probes and metrics, on the service port only: the entry point does not route them')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(BusConnection) private readonly bus: BusConnection,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject(JetStreamServer) private readonly consumers: JetStreamServer,
    @Inject(MessagingMetrics) private readonly messagingMetrics: MessagingMetrics,
    @Inject(BUS_OPTIONS) private readonly busOptions: BusOptions,
    @Optional() @Inject(PolicyInForce) private readonly policy?: PolicyInForce,
  ) {}

  /** The process is alive and serving HTTP. */
  @Get('healthz')
  @ApiAnswer(200, Liveness, 'Alive')
  @ApiErrors({ 500: UNEXPECTED })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready only while both PostgreSQL and NATS answer; recovers by itself when they return. */
  @Get('readyz')
  @ApiAnswer(200, Readiness, 'Ready: PostgreSQL and NATS answer')
  @ApiAnswer(503, Readiness, 'Not ready: checks says which does not answer')
  async readyz(@Res({ passthrough: true }) response: StatusSettable): Promise<Readiness> {
    const checks: Record<string, string> = {};
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), PROBE_TIMEOUT_MS);
      checks['postgres'] = 'ok';
    } catch (error) {
      checks['postgres'] = `unreachable: ${(error as Error).message}`;
    }
    checks['nats'] = this.bus.isConnected ? 'ok' : 'unreachable';
    const ready = Object.values(checks).every((check) => check === 'ok');
    response.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    // Services that judge by the version policy say which one they judge by now.
    const now = this.policy?.current();
    return { status: ready ? 'ready' : 'not-ready', checks, ...(now ? { policy: { release: now.release, revision: now.matrix.revision, source: now.releaseSource } } : {}) };
  }

  @Get('metrics')
  @Header('Content-Type', register.contentType)
  @ApiAnswer(200, z.string().describe('Prometheus text exposition format'), 'The metrics', 'text/plain')
  @ApiErrors({ 500: UNEXPECTED })
  async metrics(): Promise<string> {
    // The outbox backlog and the dead-letter depth are queries: refreshed only when someone scrapes.
    // What cannot be read now keeps its last value; readiness says whether PostgreSQL and NATS answer.
    await Promise.all([
      this.relay.backlog().catch(() => undefined),
      withTimeout(reportDeadLetterDepth(this.bus.jsm, this.busOptions, this.consumers.durables(), this.messagingMetrics), PROBE_TIMEOUT_MS).catch(() => undefined),
    ]);
    return register.metrics();
  }
}
