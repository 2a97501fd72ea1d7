import { ClusterModel, ClusterProgress, Node, Reason } from '@flotilla/contracts';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import { CLUSTER_ACCESS, CLUSTER_STATUSES, REQUEST_NAMES } from '../domain/cluster-view.js';
import type { ClusterItem } from '../repositories/cluster-rows.js';
import type { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import type { CommandAccepted } from './cluster-requests.js';

const Time = z.iso.datetime({ offset: true });

/** A cluster as the fleet read model knows it (its bookkeeping of fact times left out). */
export const ClusterAnswer = describes<ClusterItem>()(
  z.object({
    id: z.string(),
    name: z.string().nullable(),
    model: ClusterModel.nullable(),
    labels: z.record(z.string(), z.string()).describe('What label-scoped callers are limited by'),
    status: z.enum(CLUSTER_STATUSES),
    kubernetesVersion: z.string().nullable(),
    distribution: z.string().nullable(),
    nodes: z.array(Node),
    reasons: z.array(Reason),
    warnings: z.array(Reason),
    reachable: z.boolean().nullable(),
    tunnel: z.enum(['connected', 'disconnected']).nullable().describe('As the tunnel broker last reported; null: never reported'),
    access: z.enum(CLUSTER_ACCESS).nullable().describe('tunnel: registered behind a firewall; direct: at its own address; null while not known'),
    provider: z
      .string()
      .nullable()
      .describe("Whose infrastructure runs it: the request's infrastructure provider, a public-cloud cluster's cloud (eks, aks, gke) or the import's provider (cncf, eks, aks, gke); null when none was named or not known"),
    region: z.string().nullable().describe('A public-cloud cluster: its AWS region, Azure location or GCP region or zone; null for the other models'),
    lastEventTime: Time,
    pendingRequests: z
      .array(
        z.object({
          eventId: z.string(),
          type: z.enum([...REQUEST_NAMES, 'TunnelRegistrationIssued']),
          time: Time,
          summary: z.string(),
          pool: z.string().optional(),
          planId: z.string().optional(),
          toVersion: z.string().optional(),
          registrationId: z.string().optional(),
        }),
      )
      .describe('Requests their owner has not answered yet, and a registration waiting for its agent'),
    lastRefusal: z
      .object({
        eventId: z.string(),
        type: z.string(),
        source: z.string(),
        time: Time,
        requestEventId: z.string().nullable(),
        requestType: z.string().nullable(),
        reasons: z.array(Reason),
      })
      .nullable()
      .describe('The latest refusal or failure an owner reported, with every reason'),
    progress: z
      .object({
        phase: ClusterProgress.data.shape.phase,
        controlPlane: z.object({ ready: z.number().int(), total: z.number().int() }),
        nodePools: z.array(z.object({ pool: z.string(), ready: z.number().int(), total: z.number().int() })),
        operation: ClusterProgress.data.shape.operation,
        time: Time,
      })
      .nullable()
      .describe("Where the owner's work on the cluster stands"),
    createdAt: Time.describe('When the inventory first heard of the cluster (its request, import or registration)'),
  }),
);

/** One line of a cluster's history (a rejection's data stays in the table for the projection). */
export type HistoryLine = Omit<ClusterEventEntity, 'clusterId' | 'time' | 'detail'> & { time: string };
export const HistoryLineAnswer = describes<HistoryLine>()(
  z.object({
    eventId: z.string(),
    type: z.string().describe('The CloudEvents type'),
    source: z.string(),
    time: Time.describe('When it happened'),
    traceId: z.string().nullable().describe('The trace of the request that caused it'),
    summary: z.string(),
  }),
);

export const ClusterPageAnswer = z.object({
  items: z.array(ClusterAnswer),
  total: z.number().int().describe('Clusters matching the filters, over every page'),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page (same sort and order); null on the last'),
});

export const ClusterDetailAnswer = ClusterAnswer.extend({
  history: z.array(HistoryLineAnswer).describe('The newest page of its history'),
  historyNextCursor: z.string().nullable().describe('cursor of GET /api/v1/clusters/{id}/history for the older lines'),
});

export const HistoryPageAnswer = z.object({ items: z.array(HistoryLineAnswer).describe('Newest first'), nextCursor: z.string().nullable() });

/** POST /api/v1/clusters: the new cluster, Pending until the provisioner answers. */
export const ClusterCreatedAnswer = z.object({ id: z.string(), status: z.literal('Pending'), href: z.string() });

/** Commands about a cluster: the event that carries the request. */
export const CommandAcceptedAnswer = describes<CommandAccepted>()(
  z.object({ eventId: z.string().describe('The request event: its answer names it'), clusterId: z.string(), href: z.string().describe('The cluster, where the request shows as pending') }),
);
