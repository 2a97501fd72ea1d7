import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { createLogger } from './logger.js';
import { useInMemorySpans, type InMemorySpans } from './testing/index.js';

type Line = Record<string, unknown>;

function capture(): { destination: { write(line: string): void }; lines: Line[]; raw: string[] } {
  const lines: Line[] = [];
  const raw: string[] = [];
  return {
    destination: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Line);
      },
    },
    lines,
    raw,
  };
}

describe('createLogger', () => {
  let spans: InMemorySpans;
  const savedLevel = process.env.LOG_LEVEL;

  before(() => {
    spans = useInMemorySpans();
  });
  afterEach(() => {
    if (savedLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = savedLevel;
  });
  after(() => spans.shutdown());

  it('writes one JSON object per line with service, ISO time and the level as a label', () => {
    const { destination, lines, raw } = capture();
    createLogger({ name: 'inventory', destination }).info({ clusterId: 'c-1' }, 'cluster registered');

    assert.equal(raw.length, 1);
    assert.ok(raw[0]?.endsWith('\n'));
    const [line] = lines;
    assert.equal(line?.level, 'info');
    assert.equal(line.service, 'inventory');
    assert.equal(line.msg, 'cluster registered');
    assert.equal(line.clusterId, 'c-1');
    assert.match(String(line.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(line.pid, undefined);
    assert.equal(line.hostname, undefined);
  });

  it('puts the active span ids on every line written inside a span, across awaits', async () => {
    const { destination, lines } = capture();
    const logger = createLogger({ name: 'provisioner', destination });
    const tracer = trace.getTracer('logger-test');

    logger.info('before');
    const expected = await tracer.startActiveSpan('provision cluster', async (span) => {
      logger.info('start');
      await nextTurn();
      logger.child({ machine: 'm-1' }).warn('after an await, from a child logger');
      span.end();
      return span.spanContext();
    });
    logger.info('after');

    assert.equal(lines.length, 4);
    assert.equal(lines[0]?.trace_id, undefined);
    assert.equal(lines[0]?.span_id, undefined);
    for (const line of lines.slice(1, 3)) {
      assert.equal(line.trace_id, expected.traceId);
      assert.equal(line.span_id, expected.spanId);
    }
    assert.match(String(lines[1]?.trace_id), /^[0-9a-f]{32}$/);
    assert.equal(lines[3]?.trace_id, undefined);
    assert.equal(spans.spans().at(-1)?.name, 'provision cluster');
  });

  it('uses LOG_LEVEL, defaulting to info, with an explicit level winning', () => {
    delete process.env.LOG_LEVEL;
    const byDefault = capture();
    const defaultLogger = createLogger({ name: 's', destination: byDefault.destination });
    defaultLogger.debug('hidden');
    defaultLogger.info('shown');
    assert.deepEqual(
      byDefault.lines.map((line) => line.msg),
      ['shown'],
    );

    process.env.LOG_LEVEL = 'debug';
    const fromEnv = capture();
    createLogger({ name: 's', destination: fromEnv.destination }).debug('debug now shown');
    assert.deepEqual(
      fromEnv.lines.map((line) => [line.level, line.msg]),
      [['debug', 'debug now shown']],
    );

    const explicit = capture();
    const quiet = createLogger({ name: 's', level: 'warn', destination: explicit.destination });
    quiet.info('hidden');
    quiet.error('shown');
    assert.deepEqual(
      explicit.lines.map((line) => line.level),
      ['error'],
    );
  });

  it('refuses an unknown level, naming where it came from', () => {
    process.env.LOG_LEVEL = 'loud';
    assert.throws(() => createLogger({ name: 's' }), /Unknown log level "loud" \(from options.level or LOG_LEVEL\)/);
  });

  describe('redaction', () => {
    const secrets = ['hunter2', 'tok-123', 's3cr3t', 'Bearer abc', 'BEGIN KEY', 'apiVersion: v1', 'cookie-v', 'ak-9', 'pw-deep', 'pw-err', 'pw-url', 'bound-token'];

    it('redacts secret-looking keys at any depth and in any case, keeping their neighbours', () => {
      const { destination, lines, raw } = capture();
      const logger = createLogger({ name: 'importer', destination }).child({ token: 'bound-token' });
      const error = Object.assign(new Error('import failed'), { password: 'pw-err' });
      logger.info(
        {
          password: 'hunter2',
          db: { user: 'flotilla', password: 'hunter2' },
          request: { headers: { Authorization: 'Bearer abc', Cookie: 'cookie-v', accept: 'json' } },
          cluster: {
            id: 'c-1',
            secretName: 'c-1-admin',
            tokenUrl: 'https://sts.example/token',
            credentials: { accessKeyId: 'ak-9' },
            spec: { access: { kubeconfig: 'apiVersion: v1', ssh: { PRIVATE_KEY: 'BEGIN KEY' } } },
          },
          steps: [{ name: 'fetch', accessToken: 'tok-123' }, { name: 'verify', levels: { a: { b: { c: { d: { password: 'pw-deep' } } } } } }],
          client_secret: 's3cr3t',
          databaseUrl: 'postgres://flotilla:pw-url@db.internal:5432/flotilla',
          err: error,
        },
        'importing',
      );

      const [line] = raw;
      for (const secret of secrets) assert.ok(!line?.includes(secret), `${secret} leaked: ${line}`);

      const logged = lines[0] as {
        token: unknown;
        password: unknown;
        db: Line;
        request: { headers: Line };
        cluster: { id: unknown; secretName: unknown; tokenUrl: unknown; credentials: unknown; spec: { access: { kubeconfig: unknown; ssh: Line } } };
        steps: Line[];
        client_secret: unknown;
        databaseUrl: unknown;
        err: Line;
        msg: unknown;
      };
      assert.equal(logged.token, '[Redacted]');
      assert.equal(logged.password, '[Redacted]');
      assert.deepEqual(logged.db, { user: 'flotilla', password: '[Redacted]' });
      assert.deepEqual(logged.request.headers, { Authorization: '[Redacted]', Cookie: '[Redacted]', accept: 'json' });
      assert.equal(logged.cluster.id, 'c-1');
      assert.equal(logged.cluster.secretName, 'c-1-admin');
      assert.equal(logged.cluster.tokenUrl, 'https://sts.example/token');
      assert.equal(logged.cluster.credentials, '[Redacted]');
      assert.equal(logged.cluster.spec.access.kubeconfig, '[Redacted]');
      assert.deepEqual(logged.cluster.spec.access.ssh, { PRIVATE_KEY: '[Redacted]' });
      assert.deepEqual(logged.steps[0], { name: 'fetch', accessToken: '[Redacted]' });
      assert.deepEqual(logged.steps[1], { name: 'verify', levels: { a: { b: { c: { d: { password: '[Redacted]' } } } } } });
      assert.equal(logged.client_secret, '[Redacted]');
      assert.equal(logged.databaseUrl, 'postgres://flotilla:[Redacted]@db.internal:5432/flotilla');
      assert.equal(logged.err.message, 'import failed');
      assert.equal(logged.err.password, '[Redacted]');
      assert.match(String(logged.err.stack), /import failed/);
      assert.equal(logged.msg, 'importing');
    });

    it('leaves lines without secrets byte for byte as pino wrote them', () => {
      const { destination, raw } = capture();
      createLogger({ name: 'planner', destination }).info({ plan: { steps: 3, tokens: 5, tokenCount: 7 } }, 'planned');
      assert.match(raw[0] ?? '', /"plan":\{"steps":3,"tokens":5,"tokenCount":7\},"msg":"planned"\}\n$/);
    });
  });
});
