import { serviceConfigSchema } from '@flotilla/service-kit';
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
