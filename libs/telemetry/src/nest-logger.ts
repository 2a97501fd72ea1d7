import type { LoggerService, LogLevel } from '@nestjs/common';
import type pino from 'pino';

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const NEST_TO_PINO: Record<LogLevel, PinoLevel> = {
  verbose: 'trace',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

// Most verbose first: pino has a threshold, Nest a set of levels.
const PINO_ORDER: PinoLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/**
 * Routes Nest's own logs (and `new Logger(Context)` in application code) through pino, so they
 * get the same JSON shape, trace ids and redaction as everything else:
 *
 *   const app = await NestFactory.create(AppModule, { bufferLogs: true });
 *   app.useLogger(new PinoNestLogger(logger));
 *
 * Nest's calling convention is kept: the last string argument is the context (the class name),
 * written as `context`; for error/fatal a stack trace argument becomes `err.stack`.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: pino.Logger) {}

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.write('info', message, optionalParams, false);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.write('error', message, optionalParams, true);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.write('warn', message, optionalParams, false);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.write('debug', message, optionalParams, false);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.write('trace', message, optionalParams, false);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.write('fatal', message, optionalParams, true);
  }

  /** pino filters by threshold, so the most verbose level asked for wins; none at all silences. */
  setLogLevels(levels: LogLevel[]): void {
    const wanted = new Set(levels.map((level) => NEST_TO_PINO[level]));
    this.logger.level = PINO_ORDER.find((level) => wanted.has(level)) ?? 'silent';
  }

  private write(level: PinoLevel, message: unknown, params: unknown[], withStack: boolean): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const { context, stack, rest } = withStack ? splitWithStack(params) : split(params);

    const fields: Record<string, unknown> = {};
    if (context !== undefined) fields.context = context;
    const extra: unknown[] = [];
    for (const param of rest) {
      if (isPlainObject(param)) Object.assign(fields, param);
      else extra.push(param);
    }
    if (extra.length > 0) fields.params = extra;

    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (isPlainObject(message)) {
      // Structured call: `logger.log({ msg: 'cluster ready', clusterId }, 'Provisioner')`.
      this.logger[level]({ ...fields, ...message, ...(stack ? { err: stackError(message.msg, stack) } : {}) });
    } else if (message !== null && typeof message === 'object') {
      // Arrays and class instances: keep them structured (and so redacted) rather than inspected into msg.
      this.logger[level]({ ...fields, value: message, ...(stack ? { err: stackError(undefined, stack) } : {}) });
    } else {
      const text = String(message);
      this.logger[level]({ ...fields, ...(stack ? { err: stackError(text, stack) } : {}) }, text);
    }
  }
}

function split(params: unknown[]): { context?: string; stack?: string; rest: unknown[] } {
  const last = params.at(-1);
  return typeof last === 'string' ? { context: last, rest: params.slice(0, -1) } : { rest: params };
}

// Mirrors Nest's ConsoleLogger: error(message, stack?, context?), where a lone string argument is
// a stack only if it looks like one.
function splitWithStack(params: unknown[]): { context?: string; stack?: string; rest: unknown[] } {
  if (params.length === 1) {
    const [only] = params;
    if (isStack(only)) return { stack: only, rest: [] };
    if (only === undefined) return { rest: [] };
    return split(params);
  }
  const last = params.at(-1);
  if (isStack(last)) return { stack: last, rest: params.slice(0, -1) };
  const { context, rest } = split(params);
  const beforeContext = rest.at(-1);
  // error(message, stack, context) where the stack is not stack-shaped (or undefined) is still a stack.
  if (context !== undefined && rest.length > 0 && (typeof beforeContext === 'string' || beforeContext === undefined)) {
    return { context, stack: beforeContext, rest: rest.slice(0, -1) };
  }
  return { context, rest };
}

// Nest hands over the stack of an exception it already caught, as a string. Wrapping it in an Error
// lets pino's error serializer write it the same way as any other `err`.
function stackError(message: unknown, stack: string): Error {
  const error = new Error(typeof message === 'string' ? message : '');
  error.stack = stack;
  return error;
}

function isStack(value: unknown): value is string {
  return typeof value === 'string' && /\n[ \t]+at .+:\d+:\d+/.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
