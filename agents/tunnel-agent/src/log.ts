export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Log {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * JSON lines, shaped like the services' (`{"level","time","service","msg",...}`), one per event.
 * Callers pass what may be read by anyone with the pod's logs: never the registration token or
 * the private key.
 */
export function jsonLog(base: LogFields = {}, write: (line: string) => void = (line) => process.stdout.write(line), now: () => Date = () => new Date()): Log {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => write(`${JSON.stringify({ level, time: now().toISOString(), service: 'tunnel-agent', ...base, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}
