// Test helpers, imported as '@flotilla/telemetry/testing'. Kept out of the main entry point so
// production code never loads them.
export { useInMemorySpans, type InMemorySpans } from './in-memory-spans.js';
export {
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
  type ReceivedSpanKind,
} from './otlp-receiver.js';
