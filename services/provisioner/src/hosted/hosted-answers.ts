import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import type { PlacedControlPlane } from './hosted-control-plane-placement.js';
import type { ManagementClusterView } from './management-cluster-registry.js';
import { MANAGEMENT_CLUSTER_STATES } from './placement.js';
import type { SavingsReport } from './savings.js';
import { CONTROL_PLANE_SIZES } from './sizing.js';

const Time = z.iso.datetime({ offset: true });
const Resources = z.object({ cpuMillicores: z.number().int(), memoryBytes: z.number().int() });
const Capacity = Resources.extend({ maxControlPlanes: z.number().int() });
const Usage = Resources.extend({ controlPlanes: z.number().int() });
const Utilisation = z.object({ cpu: z.number(), memory: z.number(), controlPlanes: z.number() }).describe('Share of each capacity in use, 0..1');
const Comparison = z.object({
  controlPlanes: z.number().int(),
  replicas: z.number().int(),
  dedicated: Resources.describe('What dedicated control-plane machines would take'),
  hosted: Resources.describe('What the hosted control planes hold'),
  saved: Resources,
});

/** GET /api/v1/hosted-control-planes/{clusterId}: where it runs and what to apply there. */
export const PlacedControlPlaneAnswer = describes<PlacedControlPlane>()(
  z.object({
    clusterId: z.string(),
    managementCluster: z.string(),
    size: z.enum(CONTROL_PLANE_SIZES),
    namespace: z.string().describe('Namespace of the management cluster its pods run in'),
    endpoint: z.string().describe('The DNS name of its API server, <cluster id>.<ingress domain>:6443'),
    manifest: z.record(z.string(), z.unknown()).describe("The TenantControlPlane to apply on the management cluster (Kamaji's shape)"),
    replicas: z.number().int(),
    reserved: Resources,
    createdAt: Time,
    phase: z.enum(['applying', 'ready', 'failed', 'deleting']),
    observedStatus: z.string().nullable().describe("What the TenantControlPlane last said of itself (Kamaji's version status)"),
    controlPlaneEndpoint: z.string().nullable().describe('Where its API server answers once Ready'),
    readyAt: Time.nullable(),
    failure: z.object({ code: z.string(), message: z.string() }).nullable(),
    lastError: z.string().nullable(),
  }),
);

/** GET /api/v1/hosted-control-planes/savings. */
export const SavingsAnswer = describes<SavingsReport>()(
  z.object({
    dedicatedMachine: Resources.describe('One dedicated control-plane machine, per replica'),
    totals: Comparison,
    managementClusters: z.array(Comparison.extend({ name: z.string(), state: z.enum(MANAGEMENT_CLUSTER_STATES), capacity: Capacity, used: Usage, utilisation: Utilisation })),
    controlPlanes: z.array(Comparison.extend({ clusterId: z.string(), managementCluster: z.string() })),
  }),
);

/** A management cluster, its capacity, what is used and free, and the control planes on it. */
export const ManagementClusterAnswer = describes<ManagementClusterView>()(
  z.object({
    name: z.string(),
    apiEndpoint: z.string(),
    ingressDomain: z.string(),
    dataStore: z.string(),
    state: z.enum(MANAGEMENT_CLUSTER_STATES),
    labels: z.record(z.string(), z.string()),
    capacity: Capacity,
    used: Usage,
    free: Usage,
    utilisation: Utilisation,
    controlPlanes: z.array(z.object({ clusterId: z.string(), size: z.enum(CONTROL_PLANE_SIZES), replicas: z.number().int(), namespace: z.string(), endpoint: z.string(), reserved: Resources, createdAt: Time })),
    createdAt: Time,
    updatedAt: Time,
  }),
);

/** The CA certificate of the documented example requests: a self-signed one made for the documentation, of no cluster. */
export const EXAMPLE_CA_CERTIFICATE = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBlDCCATmgAwIBAgIUAb9rbSOgMI81i6UBcaIe/E6BQP8wCgYIKoZIzj0EAwIw',
  'HzEdMBsGA1UEAwwUbWdtdC1ldS0xIGV4YW1wbGUgQ0EwHhcNMjYxMjA2MDk1NzAy',
  'WhcNMzYxMjAzMDk1NzAyWjAfMR0wGwYDVQQDDBRtZ210LWV1LTEgZXhhbXBsZSBD',
  'QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMlg1olG74bGPNvRQQnxNx9baCC5',
  'UCXcDS28ud0bZST1pgLpchtcwtuhNLbF++Nl2xyz7zFmOfnJyl5itB50ws+jUzBR',
  'MB0GA1UdDgQWBBTi5c/WESywGbC2+LN5K9LvWZ5LfDAfBgNVHSMEGDAWgBTi5c/W',
  'ESywGbC2+LN5K9LvWZ5LfDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA',
  'MEYCIQCB2JXTf6CYKVA71y0sE69E5Khcj0FnMhU26iCxhVBDeAIhAK7gH6fzsOXT',
  'aBZlTjLOs7utfTw+lXc9MKendyx/Nqir',
  '-----END CERTIFICATE-----',
  '',
].join('\n');
