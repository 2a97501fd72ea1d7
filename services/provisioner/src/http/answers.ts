import { Reason } from '@flotilla/contracts';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import { CLUSTER_PHASES, MACHINE_PHASES } from '../domain/cluster/index.js';
import type { MachineView, ProvisionerClusterView } from './clusters.controller.js';

const Time = z.iso.datetime({ offset: true });
const REPLACE_REASONS = ['unhealthy', 'upgrade'] as const;

/** A Kubernetes-style condition of a cluster or machine. */
export const ConditionAnswer = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string().optional(),
  lastTransitionTime: Time,
});

const MachineAnswer = describes<MachineView>()(
  z.object({
    name: z.string(),
    role: z.enum(['control-plane', 'worker']),
    pool: z.string().nullable(),
    machineSize: z.string().nullable(),
    host: z.string().nullable().describe("For users' hosts: user@address:port (never its key)"),
    phase: z.enum(MACHINE_PHASES),
    providerId: z.string().nullable(),
    addresses: z.array(z.string()),
    kubernetesVersion: z.string().describe('The version it is made and joined on'),
    kubeletVersion: z.string().nullable(),
    failureReason: Reason.nullable(),
    deadline: Time.nullable().describe('Provisioning must be over by then'),
    conditions: z.array(ConditionAnswer),
    replaces: z.object({ machine: z.string(), reason: z.enum(REPLACE_REASONS) }).nullable().describe('A replacement: the machine it takes the place of, and why'),
    removal: z
      .object({ reason: z.enum(['scale-down', 'replaced', 'failed', 'cluster-deleted']), replacedBy: z.string().optional(), replaceReason: z.enum(REPLACE_REASONS).optional() })
      .nullable()
      .describe('While Deleting: why it is being released'),
    unhealthySince: Time.nullable(),
    upgrade: z.object({ toVersion: z.string(), first: z.boolean() }).nullable().describe("An in-place upgrade in progress (users' hosts)"),
    reconcile: z
      .object({ nextReconcileAt: Time.nullable(), claimedBy: z.string().nullable(), claims: z.number().int(), providerErrors: z.number().int(), lastError: z.string().nullable() })
      .nullable()
      .describe("The machine's reconcile bookkeeping"),
  }),
);

/** GET /api/v1/provisioner/clusters/{id}: the provisioner's side of a cluster, machine by machine. */
export const ProvisionerClusterAnswer = describes<ProvisionerClusterView>()(
  z.object({
    id: z.string(),
    name: z.string(),
    model: z.string(),
    kubernetesVersion: z.string().describe('The version the cluster is on'),
    requestedVersion: z.string(),
    release: z.string().describe('The platform release the request was judged under'),
    phase: z.enum(CLUSTER_PHASES),
    operation: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('scale'), pool: z.string(), from: z.number().int(), to: z.number().int(), removed: z.array(z.string()), startedAt: Time }),
        z.object({ kind: z.literal('upgrade'), planId: z.string(), fromVersion: z.string(), toVersion: z.string(), startedAt: Time, policyRevision: z.string().optional() }),
        z.object({ kind: z.literal('delete'), reason: z.string().nullable(), startedAt: Time }),
      ])
      .nullable()
      .describe('Scale, upgrade or deletion in progress'),
    conditions: z.array(ConditionAnswer),
    failureReasons: z.array(Reason),
    requestedAt: Time,
    machines: z.array(MachineAnswer),
  }),
);
