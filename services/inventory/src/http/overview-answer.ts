import { ClusterModel } from '@flotilla/contracts';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import { ATTENTION_REASONS } from '../domain/cluster-attention.js';
import { CLUSTER_ACCESS, CLUSTER_STATUSES } from '../domain/cluster-view.js';
import { TUNNEL_STATES, UNKNOWN, type FleetOverview } from '../domain/fleet-overview.js';

const Count = z.number().int().nonnegative();
const countsOf = <K extends string>(keys: readonly K[]) => z.record(z.enum(keys as readonly [K, ...K[]]), Count);

/** GET /api/v1/overview: the fleet's counts and the clusters needing action. */
export const FleetOverviewAnswer = describes<FleetOverview>()(
  z.object({
    clusters: Count.describe('Clusters not deleted; every count below but byStatus.Deleted is of those'),
    byModel: countsOf([...ClusterModel.options, UNKNOWN]),
    byStatus: countsOf(CLUSTER_STATUSES),
    byProvider: z.record(z.string(), Count).describe("Infrastructure or import provider; unknown: none named (users' hosts)"),
    byKubernetesVersion: z.record(z.string(), Count).describe('By minor; unknown: no version yet'),
    byAccess: countsOf([...CLUSTER_ACCESS, UNKNOWN]),
    byTunnel: countsOf(TUNNEL_STATES).describe('The clusters reached through a tunnel'),
    nodes: z.object({ total: Count, ready: Count }).describe('Nodes the read model knows (platform-managed clusters), and the Ready ones'),
    needsAction: z.object({
      total: Count.describe('Clusters needing action for any reason, each once'),
      byReason: countsOf(ATTENTION_REASONS),
      clusters: z
        .array(z.object({ id: z.string(), name: z.string().nullable(), status: z.enum(CLUSTER_STATUSES), reasons: z.array(z.enum(ATTENTION_REASONS)), message: z.string().nullable().describe("A refusal's first reason") }))
        .describe('The first of them by id'),
    }),
  }),
);
