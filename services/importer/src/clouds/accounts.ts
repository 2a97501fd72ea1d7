import { z } from 'zod';
import type { CloudClusterRef, CloudLocation, CloudProviderName } from './cloud-provider.js';
import { CloudError } from './errors.js';
import type { RevealableSecret } from './secret.js';

/** An AWS access key (an IAM user's, or temporary ones with a session token). */
export const AwsAccount = z.object({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id'),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});
export type AwsAccount = z.infer<typeof AwsAccount>;

/** An Entra ID (Azure AD) service principal with a client secret. */
export const AzureAccount = z.object({
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
});
export type AzureAccount = z.infer<typeof AzureAccount>;

/** A Google Cloud service-account key file, as the console downloads it. */
export const GcpAccount = z.object({
  type: z.literal('service_account'),
  client_email: z.string().email(),
  private_key: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }),
  private_key_id: z.string().optional(),
  project_id: z.string().optional(),
});
export type GcpAccount = z.infer<typeof GcpAccount>;

export type CloudAccount =
  | { provider: 'eks'; account: AwsAccount }
  | { provider: 'aks'; account: AzureAccount }
  | { provider: 'gke'; account: GcpAccount };

/**
 * Opens a stored cloud account (a JSON document) for a provider. The error names the fields at
 * fault and never echoes a value: the input is a secret.
 */
export function parseCloudAccount(provider: CloudProviderName, secret: RevealableSecret): CloudAccount {
  let document: unknown;
  try {
    document = JSON.parse(secret.revealString());
  } catch {
    throw new CloudError('cloud-account-invalid', `the ${provider} account is not a JSON document`);
  }
  switch (provider) {
    case 'eks':
      return { provider, account: checked(provider, AwsAccount, document) };
    case 'aks':
      return { provider, account: checked(provider, AzureAccount, document) };
    case 'gke':
      return { provider, account: checked(provider, GcpAccount, document) };
  }
}

function checked<S extends z.ZodType>(provider: CloudProviderName, schema: S, document: unknown): z.infer<S> {
  const result = schema.safeParse(document);
  if (result.success) return result.data;
  const fields = [...new Set(result.error.issues.map((issue) => issue.path.map(String).join('.') || '(document)'))];
  // Only paths and the schema's own wording: zod messages for these checks do not repeat the input.
  const problems = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(document)'} ${issue.message}`);
  throw new CloudError('cloud-account-invalid', `the ${provider} account is invalid: ${problems.join('; ')}`, fields[0]);
}

const required = (value: string | undefined, field: string, provider: CloudProviderName): string => {
  if (value === undefined || value.trim() === '') throw new CloudError('cloud-location-invalid', `${field} is required for ${provider}`, field);
  return value;
};

/** The location part of an import request's `cloud`, or of the list query, checked for a provider. */
export interface CloudLocationFields {
  region?: string | undefined;
  subscriptionId?: string | undefined;
  resourceGroup?: string | undefined;
  projectId?: string | undefined;
  location?: string | undefined;
}

export function cloudLocationFor(provider: CloudProviderName, fields: CloudLocationFields): CloudLocation {
  switch (provider) {
    case 'eks':
      return { provider, region: required(fields.region, 'region', provider) };
    case 'aks':
      return {
        provider,
        subscriptionId: required(fields.subscriptionId, 'subscriptionId', provider),
        ...(fields.resourceGroup === undefined ? {} : { resourceGroup: fields.resourceGroup }),
      };
    case 'gke':
      return { provider, projectId: required(fields.projectId, 'projectId', provider), ...(fields.location === undefined ? {} : { location: fields.location }) };
  }
}

/** The `cloud` of ClusterImportRequested, checked for a provider: one cluster to reach. */
export function cloudClusterRefFor(provider: CloudProviderName, cloud: CloudLocationFields & { clusterName?: string | undefined }): CloudClusterRef {
  const clusterName = required(cloud.clusterName, 'clusterName', provider);
  switch (provider) {
    case 'eks':
      return { provider, clusterName, region: required(cloud.region, 'region', provider) };
    case 'aks':
      return {
        provider,
        clusterName,
        subscriptionId: required(cloud.subscriptionId, 'subscriptionId', provider),
        resourceGroup: required(cloud.resourceGroup, 'resourceGroup', provider),
      };
    case 'gke':
      return { provider, clusterName, projectId: required(cloud.projectId, 'projectId', provider), location: required(cloud.location, 'location', provider) };
  }
}
