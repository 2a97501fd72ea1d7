import { authConfigProblems, AuthConfig } from '@flotilla/auth';
import { readFileSync } from 'node:fs';
import { BusPlacementConfig, DEFAULT_SUBJECT_PREFIX } from '@flotilla/contracts';
import { z } from 'zod';

/** A configuration problem: names the variable, so start-up stops with something to act on. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return value.split(',').every((part) => protocols.includes(new URL(part.trim()).protocol));
    } catch {
      return false;
    }
  }, `must be a ${protocols.join(' or ')} URL`);

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Variables every service reads. */
export const CommonConfig = z.object({
  NATS_URL: url(['nats:', 'tls:']).default('nats://127.0.0.1:4222'),
  /** The service's NATS user and password (deploy/nats/flotilla-nats.conf has one per service); the password or a file holding it. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_PASSWORD_FILE: z.string().min(1).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/flotilla'),
  /** The service's own schema; defaults to the service name. Tests give each run its own. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .optional(),
  /** PostgreSQL connections per replica: consumer transactions, the outbox relay and HTTP requests share them. */
  DATABASE_POOL_SIZE: integer(2, 200).default(10),
  /** Bounds on every database session: one statement, one lock wait, idle inside a transaction. */
  DATABASE_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  DATABASE_LOCK_TIMEOUT_MS: integer(100, 3_600_000).default(10_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: integer(1_000, 3_600_000).default(60_000),
  BUS_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case letters, digits and _')
    .default(DEFAULT_SUBJECT_PREFIX),
  BUS_REPLICAS: integer(1, 5).default(1),
  /** Where every stream's and bucket's replicas go: a cluster, and tags its servers must carry (comma-separated). */
  ...BusPlacementConfig.shape,
  BUS_BATCH_SIZE: integer(1, 1000).default(100),
  /** Transactions one consumer runs at once when a backlog waits (events of one cluster never in two). */
  BUS_LANES: integer(1, 64).default(4),
  /** Consumer transactions a replica runs at once, over all its consumers: below DATABASE_POOL_SIZE. */
  BUS_MAX_CONCURRENT_BATCHES: integer(1, 199).default(6),
  /** Size cap of the events stream; JetStream reserves it on the server. */
  BUS_STREAM_MAX_BYTES: integer(16 * 1024 ** 2, 2 ** 50).default(1024 ** 3),
  BUS_MAX_DELIVER: integer(1, 100).default(8),
  /**
   * How long one consumer transaction (its handlers and commit) may take before it is cut and its
   * messages retried: one stuck handler must not hold a slot. Below the 30 s ack wait.
   */
  BUS_HANDLER_TIMEOUT_MS: integer(100, 25_000).default(20_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(20_000),
  /** PEM certificate chain and key: the service then serves HTTPS on PORT (where its port crosses a network). */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  ...AuthConfig.shape,
});
export type CommonConfig = z.infer<typeof CommonConfig>;

/** Variables whose values must never be echoed: keys, passwords, and URLs that may carry one. */
const SENSITIVE = /KEYS?$|SECRET|TOKEN|PASSWORD|CREDENTIAL|_URL$/;

/**
 * Parses the environment against a schema. Every problem is reported at once, each naming its
 * variable: `PORT: must be at most 65535 (got "99999")`. Sensitive values are never repeated.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // An empty variable means "not set": defaults apply.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  const problems = [...(result.success ? [] : result.error.issues.map((issue) => ({ name: issue.path.map(String).join('.'), message: issue.message }))), ...acrossVariables(present)];
  if (result.success && problems.length === 0) return result.data;
  throw new ConfigError(
    problems.map(({ name, message }) => {
      const raw = env[name];
      if (raw === undefined || raw === '') return `${name}: ${message} (not set)`;
      return SENSITIVE.test(name) ? `${name}: ${message} (value not shown)` : `${name}: ${message} (got ${JSON.stringify(raw)})`;
    }),
  );
}

const PoolSizing = CommonConfig.pick({ BUS_MAX_CONCURRENT_BATCHES: true, DATABASE_POOL_SIZE: true });

/**
 * Rules between common variables, checked whenever both are valid on their own (defaults
 * included). Kept out of the schemas: a refined zod object can no longer be picked from.
 */
function acrossVariables(present: Record<string, unknown>): { name: string; message: string }[] {
  const auth = AuthConfig.safeParse(present);
  const tls = Boolean(present['TLS_CERT_FILE']) === Boolean(present['TLS_KEY_FILE']) ? [] : [{ name: present['TLS_CERT_FILE'] ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', message: 'TLS_CERT_FILE and TLS_KEY_FILE go together' }];
  return [...(auth.success ? authConfigProblems(auth.data) : []), ...tls, ...poolProblems(present)];
}

function poolProblems(present: Record<string, unknown>): { name: string; message: string }[] {
  const sizing = PoolSizing.safeParse(present);
  if (sizing.success && sizing.data.BUS_MAX_CONCURRENT_BATCHES >= sizing.data.DATABASE_POOL_SIZE) {
    const { BUS_MAX_CONCURRENT_BATCHES: batches, DATABASE_POOL_SIZE: poolSize } = sizing.data;
    return [{ name: 'BUS_MAX_CONCURRENT_BATCHES', message: `${batches} must be below DATABASE_POOL_SIZE (${poolSize}): the outbox relay and HTTP requests need connections too` }];
  }
  return [];
}

/** NATS_PASSWORD, or the content of NATS_PASSWORD_FILE (a mounted secret) without its final newline. */
export function natsPassword(config: Pick<CommonConfig, 'NATS_PASSWORD' | 'NATS_PASSWORD_FILE'>): string | undefined {
  if (config.NATS_PASSWORD !== undefined || config.NATS_PASSWORD_FILE === undefined) return config.NATS_PASSWORD;
  try {
    return readFileSync(config.NATS_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError([`NATS_PASSWORD_FILE: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
}

/** The common variables plus the HTTP port, whose default differs per service. */
export function serviceConfigSchema<E extends z.ZodRawShape>(defaultPort: number, extra: E) {
  return CommonConfig.extend({ PORT: integer(0, 65535).default(defaultPort), ...extra });
}
