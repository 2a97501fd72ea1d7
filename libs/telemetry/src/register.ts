// Entry point for `node --import @flotilla/telemetry/register dist/main.js`.
//
// Services are ESM. An ESM `import pg from 'pg'` never goes through `require`, so the
// require-in-the-middle hooks OpenTelemetry instrumentations install would not see it. The
// import-in-the-middle loader hook closes that gap, but only for modules imported after it is
// registered; running from `--import` puts it (and the SDK) in place before the app's first import.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';

if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  // The loader runs on its own thread. The message channel lets it wrap only the modules an
  // instrumentation asked for (http, https, pg, pg-pool) instead of every module in the app.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  // Imported only now so nothing the SDK loads is evaluated before the hook exists.
  const { startTelemetry } = await import('./telemetry.js');
  await startTelemetry({
    serviceName: serviceNameFromEnv(),
    serviceVersion: process.env.FLOTILLA_SERVICE_VERSION?.trim() || undefined,
  });
  // The instrumentations' hook registrations must reach the loader thread before the app imports pg.
  await waitForAllMessagesAcknowledged();
}

function serviceNameFromEnv(): string {
  const name = process.env.OTEL_SERVICE_NAME?.trim() || process.env.FLOTILLA_SERVICE?.trim();
  if (name) return name;
  process.emitWarning('@flotilla/telemetry/register: set FLOTILLA_SERVICE or OTEL_SERVICE_NAME; spans will be reported as unknown_service:node');
  return 'unknown_service:node';
}
