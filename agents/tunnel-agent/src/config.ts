import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';

/** Where a pod finds its service account (token, cluster CA, namespace). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const DEFAULT_CREDENTIAL_SECRET = 'flotilla-tunnel-agent-credential';
export const DEFAULT_REGISTRATION_SECRET = 'flotilla-tunnel-agent-registration';

export interface KubernetesAccess {
  /** The API server, `https://host:port`. */
  apiServer: string;
  /** Read again every few seconds (`serviceAccountToken`): the kubelet rotates it. */
  tokenFile: string;
  caFile: string;
  ca: string;
}

export interface AgentConfig {
  clusterId: string;
  /** Flotilla's one address; enrollment is `POST <tunnelUrl>/api/v1/tunnels/enrollments`. */
  tunnelUrl: URL;
  agentId: string;
  /** Needed only until the agent is enrolled. */
  registrationToken: string | undefined;
  /** A private CA for `tunnelUrl` (PEM), instead of the system's. */
  tunnelCa: string | undefined;
  credentialSecret: string;
  /** Holds the registration token; the agent blanks it once the token is used. */
  registrationSecret: string;
  namespace: string;
  kubernetes: KubernetesAccess;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Every bad or missing variable at once, each named. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(({ variable, problem }) => `${variable} ${problem}`).join('; '));
  }
}

const CLUSTER_ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// A Kubernetes object name (DNS subdomain).
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The agent's configuration from its environment and its pod's service account; throws ConfigError naming what is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const problems: ConfigProblem[] = [];
  const problem = (variable: string, text: string) => problems.push({ variable, problem: text });
  const value = (variable: string) => {
    const found = env[variable]?.trim();
    return found ? found : undefined;
  };

  const clusterId = value('FLOTILLA_CLUSTER_ID');
  if (!clusterId) problem('FLOTILLA_CLUSTER_ID', "is missing: the cluster's id in Flotilla (the registration's manifest sets it)");
  else if (!CLUSTER_ID.test(clusterId)) problem('FLOTILLA_CLUSTER_ID', `is not a cluster id (lower-case letters, digits and '-', at most 63): "${clusterId}"`);

  const tunnelUrl = httpsUrl(value('FLOTILLA_TUNNEL_URL'), 'FLOTILLA_TUNNEL_URL', "Flotilla's address, where the agent enrolls", problem);

  const agentId = value('FLOTILLA_AGENT_ID');
  if (!agentId) problem('FLOTILLA_AGENT_ID', "is missing: this agent's name (the manifest sets the pod's name)");
  else if (agentId.length > 253 || !/^[\x21-\x7e]+$/.test(agentId)) problem('FLOTILLA_AGENT_ID', 'must be at most 253 printable characters without spaces');

  const registrationToken = value('FLOTILLA_REGISTRATION_TOKEN');
  if (registrationToken !== undefined && (registrationToken.length > 200 || !/^[\x21-\x7e]+$/.test(registrationToken))) {
    // Never echo the value: it is a credential.
    problem('FLOTILLA_REGISTRATION_TOKEN', 'is not a registration token (at most 200 printable characters)');
  }

  const caFile = value('FLOTILLA_TUNNEL_CA_FILE');
  let tunnelCa: string | undefined;
  if (caFile) {
    tunnelCa = readText(caFile, 'FLOTILLA_TUNNEL_CA_FILE', problem);
    if (tunnelCa !== undefined && !tunnelCa.includes('-----BEGIN CERTIFICATE-----')) problem('FLOTILLA_TUNNEL_CA_FILE', `leads to ${caFile}, which holds no PEM certificate`);
  }

  const credentialSecret = objectName(value('FLOTILLA_CREDENTIAL_SECRET') ?? DEFAULT_CREDENTIAL_SECRET, 'FLOTILLA_CREDENTIAL_SECRET', problem);
  const registrationSecret = objectName(value('FLOTILLA_REGISTRATION_SECRET') ?? DEFAULT_REGISTRATION_SECRET, 'FLOTILLA_REGISTRATION_SECRET', problem);

  const accountDir = value('FLOTILLA_SERVICE_ACCOUNT_DIR') ?? SERVICE_ACCOUNT_DIR;
  const dirVariable = 'FLOTILLA_SERVICE_ACCOUNT_DIR';
  const outsidePod = env['FLOTILLA_SERVICE_ACCOUNT_DIR'] ? '' : ' (mounted in a pod whose service account token is automounted; outside a pod set FLOTILLA_SERVICE_ACCOUNT_DIR)';
  const tokenFile = join(accountDir, 'token');
  const caPath = join(accountDir, 'ca.crt');
  const token = readText(tokenFile, dirVariable, problem, outsidePod);
  if (token !== undefined && !token.trim()) problem(dirVariable, `leads to ${tokenFile}, which is empty`);
  const ca = readText(caPath, dirVariable, problem, outsidePod);
  const namespace = readText(join(accountDir, 'namespace'), dirVariable, problem, outsidePod)?.trim();
  if (namespace === '') problem(dirVariable, `leads to ${join(accountDir, 'namespace')}, which is empty`);

  const apiServer = kubernetesApi(env, value, problem);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    clusterId: clusterId!,
    tunnelUrl: tunnelUrl!,
    agentId: agentId!,
    registrationToken,
    tunnelCa,
    credentialSecret,
    registrationSecret,
    namespace: namespace!,
    kubernetes: { apiServer: apiServer!, tokenFile, caFile: caPath, ca: ca! },
  };
}

type Report = (variable: string, text: string) => void;

function httpsUrl(text: string | undefined, variable: string, what: string, problem: Report): URL | undefined {
  if (!text) {
    problem(variable, `is missing: ${what} (an https:// URL)`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problem(variable, `is not a URL: "${text}"`);
    return undefined;
  }
  if (url.protocol !== 'https:') problem(variable, `must be an https:// URL: "${text}"`);
  else if (url.username || url.password || url.search || url.hash) problem(variable, `must be a plain https:// URL (no credentials, query or fragment): "${url.origin}${url.pathname}"`);
  else return url;
  return undefined;
}

function objectName(name: string, variable: string, problem: Report): string {
  if (!OBJECT_NAME.test(name)) problem(variable, `is not a Kubernetes object name: "${name}"`);
  return name;
}

function readText(path: string, variable: string, problem: Report, hint = ''): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem(variable, code === 'ENOENT' ? `leads to no file ${path}${hint}` : `leads to ${path}, which cannot be read (${code ?? (error as Error).message})`);
    return undefined;
  }
}

function kubernetesApi(env: NodeJS.ProcessEnv, value: (variable: string) => string | undefined, problem: Report): string | undefined {
  const override = value('FLOTILLA_KUBERNETES_API');
  if (override) return httpsUrl(override, 'FLOTILLA_KUBERNETES_API', 'the API server', problem)?.toString().replace(/\/$/, '');
  const host = value('KUBERNETES_SERVICE_HOST');
  const port = value('KUBERNETES_SERVICE_PORT') ?? '443';
  if (!host) {
    problem('KUBERNETES_SERVICE_HOST', 'is missing: the API server of the cluster (set in every pod; outside a pod set FLOTILLA_KUBERNETES_API)');
    return undefined;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    problem('KUBERNETES_SERVICE_PORT', `is not a port: "${env['KUBERNETES_SERVICE_PORT']}"`);
    return undefined;
  }
  return `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}
