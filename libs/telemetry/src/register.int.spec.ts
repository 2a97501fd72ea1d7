// Starts an ESM stand-in service as a real process with `--import @flotilla/telemetry/register`
// and checks what reaches a real OTLP/HTTP receiver: the point is that pg and http used from ESM
// are instrumented, which only holds if the loader hook is in place before the app's imports.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './testing/index.js';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('../test/fixtures/esm-service.js', import.meta.url));
const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface FixtureOutput {
  body: string;
  serviceName: string;
  enabled: boolean;
}

/** Runs the fixture to completion; its stdout line says what startTelemetry() returned. */
async function runService(env: Record<string, string>): Promise<FixtureOutput> {
  // The test's own OTEL_* settings must not leak into the child.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && key !== 'FLOTILLA_SERVICE'));
  const child = spawn(process.execPath, ['--import', '@flotilla/telemetry/register', fixture], {
    cwd: packageRoot,
    env: { ...inherited, DATABASE_URL: databaseUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  assert.equal(code, 0, `fixture exited with ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
  return JSON.parse(stdout.trim()) as FixtureOutput;
}

function only(spans: ReceivedSpan[], what: string): ReceivedSpan {
  assert.equal(spans.length, 1, `expected exactly one ${what}, got ${spans.map((span) => span.name).join(', ')}`);
  return spans[0]!;
}

describe('node --import @flotilla/telemetry/register', () => {
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
  });
  beforeEach(() => receiver.reset());
  after(() => receiver.close());

  it('traces an incoming HTTP request and the pg query it makes from an ESM module', async () => {
    const output = await runService({
      FLOTILLA_SERVICE: 'fixture-service',
      FLOTILLA_SERVICE_VERSION: '1.2.3',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    assert.deepEqual(output, { body: '42', serviceName: 'fixture-service', enabled: true });

    const server = only(await receiver.waitFor((span) => span.kind === 'server'), 'server span');
    assert.equal(server.name, 'GET');
    assert.equal(server.attributes['url.path'], '/clusters/c-42');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.serviceName, 'fixture-service');
    assert.equal(server.resource['service.version'], '1.2.3');
    assert.match(server.traceId, /^[0-9a-f]{32}$/);
    assert.match(server.spanId, /^[0-9a-f]{16}$/);

    // The outgoing request carried a W3C traceparent header: the server span continues its trace.
    const client = only(await receiver.waitFor((span) => span.kind === 'client' && span.name === 'GET'), 'HTTP client span');
    assert.equal(server.traceId, client.traceId);
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(client.parentSpanId, undefined);

    // The query ran inside the request handler, so AsyncLocalStorage parented it to the server span.
    const query = only(await receiver.waitFor((span) => span.name.startsWith('pg.query')), 'pg query span');
    assert.equal(query.kind, 'client');
    assert.equal(query.scope.name, '@opentelemetry/instrumentation-pg');
    assert.equal(query.attributes['db.system.name'], 'postgresql');
    assert.equal(query.attributes['db.query.text'], 'SELECT 41 + 1 AS answer');
    assert.equal(query.traceId, server.traceId);
    assert.equal(query.parentSpanId, server.spanId);
  });

  it('lets OTEL_SERVICE_NAME win and honours the traces endpoint and protocol variables', async () => {
    const output = await runService({
      FLOTILLA_SERVICE: 'fixture-service',
      OTEL_SERVICE_NAME: 'renamed-by-operator',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    });
    assert.equal(output.serviceName, 'renamed-by-operator');

    const spans = await receiver.waitFor((span) => span.name.startsWith('pg.query'));
    assert.equal(only(spans, 'pg query span').serviceName, 'renamed-by-operator');
    assert.ok(receiver.spans().some((span) => span.kind === 'server'));
  });

  it('exports nothing with OTEL_TRACES_EXPORTER=none', async () => {
    const output = await runService({
      FLOTILLA_SERVICE: 'fixture-service',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: 'none',
    });
    assert.deepEqual(output, { body: '42', serviceName: 'fixture-service', enabled: true });
    // The child flushed and exited: anything it was going to send has arrived.
    assert.deepEqual(receiver.spans(), []);
  });

  it('installs nothing with OTEL_SDK_DISABLED=true', async () => {
    const output = await runService({
      FLOTILLA_SERVICE: 'fixture-service',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SDK_DISABLED: 'true',
    });
    // Still one instance for the whole process, reporting that it is off.
    assert.deepEqual(output, { body: '42', serviceName: 'name-passed-by-the-app', enabled: false });
    assert.deepEqual(receiver.spans(), []);
  });
});
