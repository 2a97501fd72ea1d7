import type { ManagedCluster, ManagedClusterAgentPoolProfile } from '@azure/arm-containerservice';
import type { CloudCluster, CloudNodeGroup } from '../cloud-provider.js';
import { CloudError, cloudErrorCodeFor, type CloudErrorCode } from '../errors.js';

/** The application id of the AKS Entra ID server: kubelogin asks tokens for `<it>/.default`. */
export const AKS_AAD_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

export function aksNodeGroup(pool: ManagedClusterAgentPoolProfile): CloudNodeGroup {
  return {
    name: pool.name,
    nodeCount: pool.count ?? 0,
    instanceType: pool.vmSize ?? null,
    version: pool.currentOrchestratorVersion ?? pool.orchestratorVersion ?? null,
  };
}

/** The resource group in an ARM id (`/subscriptions/s/resourceGroups/rg/providers/...`; ARM ids are case-insensitive). */
export function resourceGroupOf(id: string | undefined): string | undefined {
  return id === undefined ? undefined : /\/resourcegroups\/([^/]+)/i.exec(id)?.[1];
}

export function aksCluster(cluster: ManagedCluster): CloudCluster {
  if (!cluster.name) throw new CloudError('cloud-response-invalid', 'ARM answered a managed cluster without a name');
  const resourceGroup = resourceGroupOf(cluster.id);
  const fqdn = cluster.fqdn ?? cluster.privateFqdn;
  return {
    provider: 'aks',
    name: cluster.name,
    location: cluster.location,
    ...(resourceGroup === undefined ? {} : { resourceGroup }),
    version: cluster.currentKubernetesVersion ?? cluster.kubernetesVersion ?? '',
    // A stopped cluster still reads "Succeeded": the power state is what matters then.
    status: cluster.powerState?.code === 'Stopped' ? 'Stopped' : (cluster.provisioningState ?? 'Unknown'),
    endpoint: fqdn ? `https://${fqdn}:443` : null,
    nodeGroups: (cluster.agentPoolProfiles ?? []).map(aksNodeGroup),
  };
}

/** Reads an Azure SDK failure: RestError (ARM), AuthenticationError (Entra ID) or a network error. */
export function aksErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const facts = error as { name?: unknown; code?: unknown; statusCode?: unknown; errorResponse?: { error?: unknown } };
  const status = typeof facts.statusCode === 'number' && facts.statusCode > 0 ? facts.statusCode : undefined;
  if (facts.name === 'AuthenticationError') {
    const oauthError = typeof facts.errorResponse?.error === 'string' ? facts.errorResponse.error : undefined;
    // Entra ID answered: a bad tenant, client or secret. No answer at all: unreachable.
    if (status === undefined && (oauthError === undefined || /network|endpoints_resolution|unreachable/i.test(oauthError))) return 'cloud-unreachable';
    return status !== undefined && status >= 500 ? 'cloud-unreachable' : 'cloud-auth-failed';
  }
  // Entra ID refused the client (invalid_client, unauthorized_client...): the identity library names it so.
  if (facts.name === 'AuthenticationRequiredError') return 'cloud-auth-failed';
  // The authority could not be reached or read (MSAL's endpoints_resolution_error, network errors).
  if (facts.name === 'CredentialUnavailableError') return 'cloud-unreachable';
  const code = typeof facts.code === 'string' ? facts.code : undefined;
  return cloudErrorCodeFor({ ...(status === undefined ? {} : { status }), ...(code === undefined ? {} : { code, networkCode: code }) });
}

export function aksError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = aksErrorCode(error);
  const facts = typeof error === 'object' && error !== null ? (error as { name?: unknown; code?: unknown }) : {};
  const detail = typeof facts.code === 'string' ? facts.code : typeof facts.name === 'string' ? facts.name : 'Error';
  return new CloudError(code, `AKS ${what}: ${detail}`);
}
