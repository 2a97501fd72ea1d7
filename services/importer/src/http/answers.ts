import { ClusterImportRequested, Distribution, Reason } from '@flotilla/contracts';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import type { CloudCluster } from '../clouds/cloud-provider.js';
import { CLOUD_ACCOUNT_PROVIDERS, CREDENTIAL_KINDS, CREDENTIAL_SOURCES, type CredentialDescription } from '../credentials/credential-store.js';
import { CONNECTED_CLUSTER_STATES } from '../domain/connected-cluster.js';
import { REGISTRATION_STATUSES } from '../registration/registration.js';
import type { CreatedRegistration } from '../registration/registrations.controller.js';
import type { RegistrationView } from '../registration/registration.service.js';
import type { ConnectedClusterResource } from './connected-clusters.controller.js';

const Time = z.iso.datetime({ offset: true });

const Binding = z.object({
  apiServer: z.string().describe('The API server the credential is bound to (normalised)'),
  caFingerprints: z.array(z.string()).describe('SHA-256 fingerprints of the stored CA certificates; empty: the system roots'),
});

/** A credential as every answer describes it: never the secret. */
export const CredentialAnswer = describes<CredentialDescription>()(
  z.object({
    ref: z.string(),
    kind: z.enum(CREDENTIAL_KINDS),
    source: z.enum(CREDENTIAL_SOURCES).describe('How it was given'),
    expiresAt: Time.nullable(),
    binding: Binding.nullable(),
    metadata: z.object({
      apiServer: z.string().optional(),
      context: z.string().optional(),
      subject: z.string().optional(),
      provider: z.enum(CLOUD_ACCOUNT_PROVIDERS).optional(),
      caCertificate: z.enum(['stored', 'system-roots']).optional(),
    }),
    createdAt: Time,
  }),
);

export const CredentialListAnswer = z.object({ items: z.array(CredentialAnswer) });

/** A connected cluster with its import state and tunnel. */
export const ConnectedClusterAnswer = describes<ConnectedClusterResource>()(
  z.object({
    id: z.string(),
    name: z.string(),
    provider: z.enum(['cncf', 'eks', 'aks', 'gke']),
    apiServer: z.string().nullable(),
    cloud: ClusterImportRequested.data.shape.cloud.unwrap().nullable().describe('Where a cloud provider finds it, for clusters imported with a cloud account'),
    credentialRef: z.string(),
    state: z.enum(CONNECTED_CLUSTER_STATES),
    attempt: z.number().int().describe('Counts accepted requests'),
    requestEventId: z.string(),
    kubernetesVersion: z.string().nullable(),
    distribution: Distribution.nullable(),
    nodeCount: z.number().int().nullable(),
    reasons: z.array(Reason),
    warnings: z.array(Reason),
    policyRevision: z.string().nullable(),
    requestedAt: Time,
    checkStartedAt: Time.nullable(),
    importedAt: Time.nullable(),
    lastEventTime: Time,
    tunnel: z
      .object({ state: z.enum(['connected', 'disconnected']), agentId: z.string(), agentVersion: z.string().nullable(), reason: z.string().nullable(), since: Time })
      .nullable()
      .describe('The tunnel as the broker last reported it; null for a cluster reached directly'),
  }),
);

export const ConnectedClusterPageAnswer = z.object({
  items: z.array(ConnectedClusterAnswer),
  total: z.number().int(),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
});

/** POST /api/v1/imports: where to follow the import. */
export const ImportAcceptedAnswer = describes<{ id: string; href: string }>()(z.object({ id: z.string(), href: z.string().describe('The connected cluster: Requested, then Imported or Rejected') }));

export const RegistrationAnswer = describes<RegistrationView>()(
  z.object({
    registrationId: z.uuid(),
    clusterId: z.string(),
    clusterName: z.string(),
    tunnelUrl: z.string(),
    labels: z.record(z.string(), z.string()),
    status: z.enum(REGISTRATION_STATUSES),
    createdAt: Time,
    expiresAt: Time,
    usedAt: Time.nullable(),
    revokedAt: Time.nullable(),
    agentId: z.string().nullable().describe('The agent that enrolled with the token'),
  }),
);

export const CreatedRegistrationAnswer = describes<CreatedRegistration>()(
  z.object({
    clusterId: z.string(),
    registrationId: z.uuid(),
    token: z.string().describe('Shown once: only its hash is kept'),
    expiresAt: Time,
    manifest: z.string().describe('Multi-document YAML to apply on the workload cluster (holds the token)'),
    href: z.string(),
  }),
);

export const CloudClustersAnswer = z.object({
  items: z.array(
    describes<CloudCluster>()(
      z.object({
        provider: z.enum(['eks', 'aks', 'gke']),
        name: z.string(),
        location: z.string(),
        resourceGroup: z.string().optional().describe('AKS: the resource group'),
        version: z.string().describe('Control plane version as the provider reports it'),
        status: z.string().describe("The provider's own status word"),
        endpoint: z.string().nullable(),
        nodeGroups: z.array(z.object({ name: z.string(), nodeCount: z.number().int(), instanceType: z.string().nullable(), version: z.string().nullable() })),
      }),
    ),
  ),
});
