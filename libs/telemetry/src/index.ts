export { startTelemetry, type OtlpTracesProtocol, type Telemetry, type TelemetryOptions } from './telemetry.js';
export { createLogger, type CreateLoggerOptions, type Logger } from './logger.js';
export { PinoNestLogger } from './nest-logger.js';
export { isSecretKey, REDACTED } from './redaction.js';
export { requestSpan, traceResponseHeader, type RequestSpan } from './request-span.js';
