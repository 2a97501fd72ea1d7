import type { ContainerServiceClient, ManagedCluster } from '@azure/arm-containerservice';
import type { AzureAccount } from '../accounts.js';
import type { CloudCluster, CloudClusterRef, CloudLocation, CloudProvider, ClusterApiAccess, ClusterAuth } from '../cloud-provider.js';
import { CloudError } from '../errors.js';
import { Secret } from '../secret.js';
import type { CloudSettings } from '../settings.js';
import { AksClients } from './aks-client.js';
import { AKS_AAD_SERVER_APP_ID, aksCluster, aksError } from './aks-mapping.js';
import { parseKubeconfig } from './kubeconfig.js';

type AksLocation = Extract<CloudLocation, { provider: 'aks' }>;
type AksRef = Extract<CloudClusterRef, { provider: 'aks' }>;

/**
 * Azure Kubernetes Service through @azure/arm-containerservice, signed in as a service principal
 * with @azure/identity's ClientSecretCredential.
 */
export class AksProvider implements CloudProvider<AzureAccount, AksLocation, AksRef> {
  private readonly clients: AksClients;

  constructor(settings: CloudSettings) {
    this.clients = new AksClients(settings);
  }

  async listClusters(account: AzureAccount, location: AksLocation, signal?: AbortSignal): Promise<CloudCluster[]> {
    const client = this.clients.client(account, location.subscriptionId);
    const where = location.resourceGroup === undefined ? `subscription ${location.subscriptionId}` : `resource group ${location.resourceGroup}`;
    const abortSignal = this.clients.signal(signal);
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
    return aksCluster(await this.get(this.clients.client(account, ref.subscriptionId), ref, this.clients.signal(signal)));
  }

  /**
   * listClusterUserCredential's kubeconfig gives server and CA. With local accounts it holds the
   * user's token or client certificate; on an Entra ID cluster it names kubelogin instead, and
   * the service principal gets a token for the AKS server application itself, as kubelogin's
   * service-principal login does.
   */
  async apiAccess(account: AzureAccount, ref: AksRef, signal?: AbortSignal): Promise<ClusterApiAccess> {
    const client = this.clients.client(account, ref.subscriptionId);
    const abortSignal = this.clients.signal(signal);
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
        token = await this.clients.credential(account).getToken(scope, { abortSignal });
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
}
