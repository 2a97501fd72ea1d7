import { z } from 'zod';
import { ManagementClusterCredentials } from './management-credentials.js';
import { MANAGEMENT_CLUSTER_STATES, type Capacity, type Usage } from './placement.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const ManagementClusterName = z.string().min(1).max(63).regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and "-"');

const DnsName = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => value.split('.').every((label) => label.length <= 63 && DNS_LABEL.test(label)), 'must be a DNS name of lower-case labels, e.g. hcp.eu-1.example.com');

const ApiEndpoint = z
  .url({ protocol: /^https$/, error: 'must be an https:// URL' })
  .max(2048)
  .refine((value) => {
    // Zod runs this even when the checks above failed (too long, not a URL): it must not throw.
    const url = URL.parse(value);
    return url === null || (url.username === '' && url.password === '');
  }, 'must not carry credentials');

const Labels = z.record(z.string().min(1).max(317), z.string().max(63));

const Count = (max: number) => z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').max(max);

export const CapacityBody = z.strictObject({
  cpuMillicores: Count(100_000_000).describe('CPU the control planes may request, in millicores (1000 = one core)'),
  memoryBytes: Count(Number.MAX_SAFE_INTEGER).describe('Memory the control planes may request, in bytes'),
  maxControlPlanes: Count(100_000).describe('Most hosted control planes the cluster may run'),
});

/** POST /api/v1/management-clusters */
export const RegisterManagementClusterBody = z.strictObject({
  name: ManagementClusterName.describe('Name of the management cluster (a DNS label)'),
  apiEndpoint: ApiEndpoint.describe('Its Kubernetes API server, e.g. https://mgmt-eu-1.example.com:6443'),
  ingressDomain: DnsName.describe('DNS domain its load balancers answer under: hosted API servers are <cluster id>.<ingressDomain>:6443'),
  dataStore: ManagementClusterName.default('default').describe("Kamaji DataStore the hosted control planes' state goes to"),
  credentials: ManagementClusterCredentials.describe('How Flotilla authenticates to its API server: sealed at rest, sent to apiEndpoint only, never shown again'),
  capacity: CapacityBody,
  labels: Labels.default({}),
  state: z.enum(MANAGEMENT_CLUSTER_STATES).default('active'),
});
export type RegisterManagementClusterBody = z.infer<typeof RegisterManagementClusterBody>;

/** PATCH /api/v1/management-clusters/{name}: cordon or uncordon, change capacity, labels or credentials. */
export const UpdateManagementClusterBody = z
  .strictObject({
    state: z.enum(MANAGEMENT_CLUSTER_STATES).optional(),
    capacity: CapacityBody.partial().optional(),
    labels: Labels.optional(),
    credentials: ManagementClusterCredentials.optional().describe('New credentials (rotation): they replace the sealed ones'),
  })
  .refine((body) => body.state !== undefined || body.capacity !== undefined || body.labels !== undefined || body.credentials !== undefined, 'give at least one of state, capacity, labels, credentials');
export type UpdateManagementClusterBody = z.infer<typeof UpdateManagementClusterBody>;

export const ManagementClusterPath = z.object({ name: ManagementClusterName });
export type ManagementClusterPath = z.infer<typeof ManagementClusterPath>;

/** One capacity that would fall below what the control planes on the cluster already hold. */
export interface CapacityShortfall {
  field: 'capacity.cpuMillicores' | 'capacity.memoryBytes' | 'capacity.maxControlPlanes';
  requested: number;
  reserved: number;
}

export type CapacityDecision = { ok: true; capacity: Capacity } | { ok: false; shortfalls: CapacityShortfall[]; message: string };

/** A capacity change never goes below what is reserved: control planes are never over-committed. */
export function decideCapacity(current: Capacity, change: Partial<Capacity>, used: Usage): CapacityDecision {
  const capacity: Capacity = { ...current, ...definedOnly(change) };
  const shortfalls: CapacityShortfall[] = [];
  if (capacity.cpuMillicores < used.cpuMillicores) shortfalls.push({ field: 'capacity.cpuMillicores', requested: capacity.cpuMillicores, reserved: used.cpuMillicores });
  if (capacity.memoryBytes < used.memoryBytes) shortfalls.push({ field: 'capacity.memoryBytes', requested: capacity.memoryBytes, reserved: used.memoryBytes });
  if (capacity.maxControlPlanes < used.controlPlanes) shortfalls.push({ field: 'capacity.maxControlPlanes', requested: capacity.maxControlPlanes, reserved: used.controlPlanes });
  if (shortfalls.length === 0) return { ok: true, capacity };
  return {
    ok: false,
    shortfalls,
    message: `capacity below what hosted control planes hold: ${shortfalls.map((s) => `${s.field} ${s.requested} < ${s.reserved} reserved`).join('; ')}`,
  };
}

function definedOnly(change: Partial<Capacity>): Partial<Capacity> {
  return Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
}
