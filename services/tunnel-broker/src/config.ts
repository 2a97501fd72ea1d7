import { SecretsConfig } from '@flotilla/secrets';
import { serviceConfigSchema } from '@flotilla/service-kit';
import { STALLED_READER_TIMEOUT_MS } from '@flotilla/tunnel';
import { z } from 'zod';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const TunnelBrokerConfig = serviceConfigSchema(8084, {
  /** A session with no heartbeat for this long is over: its cluster may be disconnected. */
  TUNNEL_HEARTBEAT_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  /** How often agents are told to send heartbeats; a third of the timeout when not set. */
  TUNNEL_HEARTBEAT_INTERVAL_MS: integer(10, 3_600_000).optional(),
  /** How often the sweeper looks for sessions past their deadline. */
  TUNNEL_SWEEP_INTERVAL_MS: integer(10, 600_000).default(1_000),
  /** Overdue sessions one sweeper round takes at most. */
  TUNNEL_SWEEP_BATCH: integer(1, 10_000).default(100),
  /** Ended sessions stay listed this long, then are deleted. */
  TUNNEL_SESSION_RETENTION_MS: integer(0, 365 * 86_400_000).default(7 * 86_400_000),
  /** Port of the agents' listener (mutual TLS, HTTP/2 with roles reversed). */
  TUNNEL_AGENT_PORT: integer(0, 65_535).default(8091),
  /**
   * Where agents dial, as they reach it: `host:port` of the listener behind its load balancer. Its
   * host is the name (or IP address) the listener's certificate carries.
   */
  TUNNEL_AGENT_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, 'must be host:port, e.g. tunnel.flotilla.example:8091')
    .optional(),
  /** How long an agent's certificate lasts (seconds; 30 days); it is renewed over the tunnel after two thirds of it. */
  TUNNEL_AGENT_CERT_TTL_S: integer(60, 365 * 86_400).default(30 * 86_400),
  /** Pings on each agent connection: a connection silent for interval + timeout is dropped. */
  TUNNEL_KEEPALIVE_MS: integer(100, 600_000).default(10_000),
  TUNNEL_KEEPALIVE_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  /**
   * A caller that takes nothing of an answer for this long while its bytes wait is cut, and the
   * agent's stream cancelled, as a proxy's send timeout: each such caller holds up to an HTTP/2
   * window and a relay budget (about 5 MiB) in the broker until then.
   */
  TUNNEL_STALLED_CALLER_TIMEOUT_MS: integer(1_000, 3_600_000).default(STALLED_READER_TIMEOUT_MS),
  /**
   * How the other broker replicas reach this one's API (a request for an agent held here is
   * forwarded to it): its pod address in Kubernetes. Defaults to this host's name and PORT.
   */
  TUNNEL_REPLICA_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  ...SecretsConfig,
}).refine((config) => config.TUNNEL_HEARTBEAT_INTERVAL_MS === undefined || config.TUNNEL_HEARTBEAT_INTERVAL_MS < config.TUNNEL_HEARTBEAT_TIMEOUT_MS, {
  path: ['TUNNEL_HEARTBEAT_INTERVAL_MS'],
  message: 'must be shorter than TUNNEL_HEARTBEAT_TIMEOUT_MS, or agents time out between heartbeats',
});
export type TunnelBrokerConfig = z.infer<typeof TunnelBrokerConfig>;

/** The timing every part of the broker shares. */
export interface SessionTiming {
  heartbeatTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export function sessionTiming(config: TunnelBrokerConfig): SessionTiming {
  return {
    heartbeatTimeoutMs: config.TUNNEL_HEARTBEAT_TIMEOUT_MS,
    heartbeatIntervalMs: config.TUNNEL_HEARTBEAT_INTERVAL_MS ?? Math.max(10, Math.floor(config.TUNNEL_HEARTBEAT_TIMEOUT_MS / 3)),
  };
}

export const SESSION_TIMING = Symbol('SessionTiming');

/** How agents are admitted and kept. */
export interface AgentSettings {
  port: number;
  /** `host:port` agents dial (the listener's certificate names the host); unset: this host's address and the listener's port. */
  agentAddress: string | undefined;
  certificateTtlS: number;
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** How long a caller may read nothing of an answer waiting for it (TUNNEL_STALLED_CALLER_TIMEOUT_MS). */
  stalledCallerTimeoutMs: number;
}

export const AGENT_SETTINGS = Symbol('AgentSettings');

export function agentSettings(config: TunnelBrokerConfig): AgentSettings {
  return {
    port: config.TUNNEL_AGENT_PORT,
    agentAddress: config.TUNNEL_AGENT_ADDRESS,
    certificateTtlS: config.TUNNEL_AGENT_CERT_TTL_S,
    keepaliveMs: config.TUNNEL_KEEPALIVE_MS,
    keepaliveTimeoutMs: config.TUNNEL_KEEPALIVE_TIMEOUT_MS,
    stalledCallerTimeoutMs: config.TUNNEL_STALLED_CALLER_TIMEOUT_MS,
  };
}
