import { z } from 'zod';
import { defineEvent, EXTERNAL } from '../event-definition.js';
import { Capacity, ClusterLabels, KubernetesVersion, Reason, Timestamp } from './common.js';

export const Distribution = z.enum(['eks', 'aks', 'gke', 'openshift', 'k3s', 'rke2', 'vanilla']);

export const ClusterImportRequested = defineEvent({
  name: 'ClusterImportRequested',
  topic: 'cluster.import-requested',
  version: 1,
  description:
    'Someone asked to bring an existing cluster under management. Credentials are never in the event: it names a credential held by the importer.',
  data: z.object({
    name: z.string().min(1).max(253),
    apiServer: z.string().url().optional().describe('API server URL; omitted when a cloud provider locates the cluster'),
    credentialRef: z.string().min(1).describe('Reference to a credential stored in the importer'),
    labels: ClusterLabels.optional(),
    provider: z.enum(['cncf', 'eks', 'aks', 'gke']).default('cncf'),
    cloud: z
      .object({
        clusterName: z.string().min(1).describe('The cluster\'s name at the cloud provider'),
        region: z.string().min(1).optional().describe('EKS: AWS region, e.g. eu-west-1'),
        subscriptionId: z.string().min(1).optional().describe('AKS: Azure subscription id'),
        resourceGroup: z.string().min(1).optional().describe('AKS: resource group of the managed cluster'),
        projectId: z.string().min(1).optional().describe('GKE: Google Cloud project id'),
        location: z.string().min(1).optional().describe('GKE: zone or region, e.g. europe-west1'),
      })
      .optional()
      .describe('Where a cloud provider (eks, aks, gke) finds the cluster; the credential is the cloud account'),
  }),
  producers: ['importer', EXTERNAL],
  consumers: ['importer', 'inventory'],
});

export const ClusterImported = defineEvent({
  name: 'ClusterImported',
  topic: 'cluster.imported',
  version: 1,
  description: 'An existing cluster passed the connectivity check and the onboarding policy and is now managed.',
  data: z.object({
    name: z.string().min(1),
    distribution: Distribution,
    kubernetesVersion: KubernetesVersion,
    nodeCount: z.number().int().nonnegative(),
    capacity: Capacity,
    warnings: z.array(Reason).default([]),
    policyRevision: z.string().optional().describe('Support-matrix revision the onboarding decision used'),
    release: z.string().min(1).optional().describe('Platform release whose third-party range the onboarding decision used'),
  }),
  producers: ['importer'],
  consumers: ['inventory', 'upgrade-planner'],
});

export const ImportRejected = defineEvent({
  name: 'ImportRejected',
  topic: 'cluster.import-rejected',
  version: 1,
  description: 'An import was refused; every reason is listed.',
  data: z.object({
    name: z.string().optional(),
    reasons: z.array(Reason).min(1),
    policyRevision: z.string().min(1).optional().describe('Support-matrix revision of the onboarding decision, when the version policy refused the cluster'),
    release: z.string().min(1).optional().describe('Platform release whose third-party range refused the cluster'),
  }),
  producers: ['importer'],
  consumers: ['inventory'],
});

export const TunnelConnected = defineEvent({
  name: 'TunnelConnected',
  topic: 'tunnel.connected',
  version: 1,
  description: 'The tunnel agent of a workload cluster connected to the tunnel server.',
  data: z.object({
    agentId: z.string().min(1),
    agentVersion: z.string().optional(),
    remoteAddress: z.string().optional(),
  }),
  producers: ['tunnel-broker'],
  consumers: ['inventory', 'importer'],
});

export const TunnelDisconnected = defineEvent({
  name: 'TunnelDisconnected',
  topic: 'tunnel.disconnected',
  version: 1,
  description: 'The tunnel of a workload cluster went down.',
  data: z.object({
    agentId: z.string().min(1),
    reason: z.string().min(1),
  }),
  producers: ['tunnel-broker'],
  consumers: ['inventory', 'importer'],
});

export const TunnelRegistrationIssued = defineEvent({
  name: 'TunnelRegistrationIssued',
  topic: 'tunnel.registration-issued',
  version: 1,
  description:
    'The importer issued a one-time registration token for a cluster behind a firewall. Only the token\'s SHA-256 travels: the tunnel broker redeems the token when the agent presents it.',
  data: z.object({
    registrationId: z.uuid(),
    clusterName: z.string().min(1).max(253),
    tokenHash: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the token, hex; never the token'),
    expiresAt: Timestamp,
    labels: ClusterLabels.optional().describe('Labels the cluster gets: the broker authorises callers scoped by label with them'),
  }),
  producers: ['importer'],
  consumers: ['tunnel-broker', 'inventory'],
});

export const TunnelRegistrationRevoked = defineEvent({
  name: 'TunnelRegistrationRevoked',
  topic: 'tunnel.registration-revoked',
  version: 1,
  description: 'A registration token that was never used was revoked: the tunnel broker refuses it from now on.',
  data: z.object({ registrationId: z.uuid() }),
  producers: ['importer'],
  consumers: ['tunnel-broker', 'inventory'],
});

export const TunnelRegistrationRedeemed = defineEvent({
  name: 'TunnelRegistrationRedeemed',
  topic: 'tunnel.registration-redeemed',
  version: 1,
  description:
    'A tunnel agent presented a registration token, the one time it is accepted, and received its cluster\'s client certificate from the tunnel broker.',
  data: z.object({
    registrationId: z.uuid(),
    agentId: z.string().min(1),
    certificateSerial: z.string().min(1).describe('Serial number of the certificate issued to the agent, hex'),
    certificateExpiresAt: Timestamp,
  }),
  producers: ['tunnel-broker'],
  consumers: ['importer', 'inventory'],
});

export const ClusterUnreachable = defineEvent({
  name: 'ClusterUnreachable',
  topic: 'cluster.unreachable',
  version: 1,
  description:
    'A connected cluster stopped answering: its API server (directly or through its tunnel) failed the importer\'s checks for longer than the grace period.',
  data: z.object({
    reason: Reason.describe('Why the last check failed, e.g. code "tunnel-down" or "api-timeout"'),
    since: Timestamp.describe('When the first failed check of this outage happened'),
  }),
  producers: ['importer'],
  consumers: ['inventory'],
});

export const ClusterReachable = defineEvent({
  name: 'ClusterReachable',
  topic: 'cluster.reachable',
  version: 1,
  description: 'A connected cluster that was unreachable answers again.',
  data: z.object({
    since: Timestamp.describe('When the first successful check after the outage happened'),
  }),
  producers: ['importer'],
  consumers: ['inventory'],
});
