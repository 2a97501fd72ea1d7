import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import { ClientSecretCredential } from '@azure/identity';
import type { AzureAccount } from '../accounts.js';
import type { CloudCluster, CloudClusterRef, CloudLocation, CloudProvider, ClusterApiAccess, ClusterAuth } from '../cloud-provider.js';
import { CloudError } from '../errors.js';
import { Secret } from '../secret.js';
import { trustedCas, type CloudSettings } from '../settings.js';
import { AKS_AAD_SERVER_APP_ID, aksCluster, aksError } from './aks-mapping.js';
import { parseKubeconfig } from './kubeconfig.js';

type AksLocation = Extract<CloudLocation, { provider: 'aks' }>;
type AksRef = Extract<CloudClusterRef, { provider: 'aks' }>;

/** Authorities the identity library can discover by itself; any other needs discovery off. */
const KNOWN_AUTHORITIES = new Set(['https://login.microsoftonline.com', 'https://login.chinacloudapi.cn', 'https://login.microsoftonline.us']);

/**
 * Azure Kubernetes Service through @azure/arm-containerservice, signed in as a service principal
 * with @azure/identity's ClientSecretCredential.
 */
export class AksProvider implements CloudProvider<AzureAccount, AksLocation, AksRef> {
  private readonly ca: string[] | undefined;

  constructor(private readonly settings: CloudSettings) {
    this.ca = trustedCas(settings);
  }

  async listClusters(account: AzureAccount, location: AksLocation, signal?: AbortSignal): Promise<CloudCluster[]> {
    const client = this.client(account, location.subscriptionId);
    const where = location.resourceGroup === undefined ? `subscription ${location.subscriptionId}` : `resource group ${location.resourceGroup}`;
    const abortSignal = this.signal(signal);
    const clusters: CloudCluster[] = [];
    try {
      const pages = location.resourceGroup === undefined ? client.managedClusters.list({ abortSignal }) : client.managedClusters.listByResourceGroup(location.resourceGroup, { abortSignal });
      for await (const cluster of pages) clusters.push(aksCluster(cluster));
    } catch (error) {
      throw aksError(error, `listing managed clusters in ${where}`);
    }
    return clusters;
  }

  async describeCluster(account: AzureAccount, ref: AksRef, signal?: AbortSignal): Promise<CloudCluster> {
    return aksCluster(await this.get(this.client(account, ref.subscriptionId), ref, this.signal(signal)));
  }

  /**
   * listClusterUserCredential's kubeconfig gives server and CA. With local accounts it holds the
   * user's token or client certificate; on an Entra ID cluster it names kubelogin instead, and
   * the service principal gets a token for the AKS server application itself, as kubelogin's
   * service-principal login does.
   */
  async apiAccess(account: AzureAccount, ref: AksRef, signal?: AbortSignal): Promise<ClusterApiAccess> {
    const client = this.client(account, ref.subscriptionId);
    const abortSignal = this.signal(signal);
    const cluster = aksCluster(await this.get(client, ref, abortSignal));
    let kubeconfig: Uint8Array | undefined;
    try {
      const results = await client.managedClusters.listClusterUserCredentials(ref.resourceGroup, ref.clusterName, { abortSignal });
      kubeconfig = results.kubeconfigs?.[0]?.value;
    } catch (error) {
      throw aksError(error, `listClusterUserCredential of "${ref.resourceGroup}/${ref.clusterName}"`);
    }
    if (kubeconfig === undefined) throw new CloudError('cloud-response-invalid', `AKS listClusterUserCredential of "${ref.clusterName}" returned no kubeconfig`);
    const parsed = parseKubeconfig(Buffer.from(kubeconfig).toString('utf8'), `the kubeconfig of AKS cluster "${ref.clusterName}"`);

    let auth: ClusterAuth;
    let expiresAt: string | null = null;
    if (parsed.token !== null) {
      auth = { kind: 'bearer-token', token: new Secret(parsed.token) };
    } else if (parsed.clientCertificatePem !== null && parsed.clientKeyPem !== null) {
      auth = { kind: 'client-certificate', certificatePem: parsed.clientCertificatePem, privateKey: new Secret(parsed.clientKeyPem) };
    } else if (parsed.exec !== null) {
      const scope = `${parsed.exec.serverId ?? AKS_AAD_SERVER_APP_ID}/.default`;
      let token;
      try {
        token = await this.credential(account).getToken(scope, { abortSignal });
      } catch (error) {
        throw aksError(error, `Entra ID token for the API server of "${ref.clusterName}"`);
      }
      auth = { kind: 'bearer-token', token: new Secret(token.token) };
      expiresAt = new Date(token.expiresOnTimestamp).toISOString();
    } else {
      throw new CloudError('cloud-response-invalid', `the kubeconfig of AKS cluster "${ref.clusterName}" has no token, client certificate or exec plugin`);
    }
    return { apiServer: parsed.server, caCertificatePem: parsed.caCertificatePem, auth, expiresAt, cloudVersion: cluster.version, nodeGroups: cluster.nodeGroups };
  }

  private async get(client: ContainerServiceClient, ref: AksRef, abortSignal: AbortSignal): Promise<ManagedCluster> {
    try {
      return await client.managedClusters.get(ref.resourceGroup, ref.clusterName, { abortSignal });
    } catch (error) {
      throw aksError(error, `managed cluster "${ref.resourceGroup}/${ref.clusterName}"`);
    }
  }

  private credential(account: AzureAccount): ClientSecretCredential {
    return new ClientSecretCredential(account.tenantId, account.clientId, account.clientSecret, {
      authorityHost: this.settings.aks.authorityHost,
      disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(this.settings.aks.authorityHost),
      retryOptions: { maxRetries: this.settings.maxAttempts - 1 },
      ...(this.ca === undefined ? {} : { tlsOptions: { ca: this.ca } }),
    });
  }

  private client(account: AzureAccount, subscriptionId: string): ContainerServiceClient {
    return new ContainerServiceClient(this.credential(account), subscriptionId, {
      endpoint: this.settings.aks.endpoint,
      credentials: { scopes: [this.settings.aks.credentialScope] },
      retryOptions: { maxRetries: this.settings.maxAttempts - 1 },
      ...(this.ca === undefined ? {} : { tlsOptions: { ca: this.ca } }),
    });
  }

  private signal(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  }
}
