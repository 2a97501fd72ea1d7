import { parse } from 'yaml';
import { CloudError } from '../errors.js';

/** What a kubeconfig from listClusterUserCredential / listClusterAdminCredential says about one cluster. */
export interface ParsedKubeconfig {
  server: string;
  caCertificatePem: string;
  token: string | null;
  clientCertificatePem: string | null;
  clientKeyPem: string | null;
  /** Entra ID clusters: the kubelogin exec plugin and the server application id it asks tokens for. */
  exec: { command: string; serverId: string | null } | null;
}

interface NamedEntry<T> {
  name?: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const fromBase64 = (value: unknown): string | null => {
  const encoded = text(value);
  return encoded === null ? null : Buffer.from(encoded, 'base64').toString('utf8');
};

/**
 * Reads the current context's cluster and user of a kubeconfig. Throws cloud-response-invalid
 * naming what is missing; never quotes the document (it holds credentials).
 */
export function parseKubeconfig(document: string, source: string): ParsedKubeconfig {
  let config: Record<string, unknown>;
  try {
    config = record(parse(document));
  } catch {
    throw new CloudError('cloud-response-invalid', `${source} is not YAML`);
  }
  const entries = (key: string): NamedEntry<unknown>[] => (Array.isArray(config[key]) ? (config[key] as unknown[]).map((entry) => record(entry) as NamedEntry<unknown>) : []);
  const contexts = entries('contexts');
  const currentName = text(config['current-context']);
  const context = record((contexts.find((entry) => entry.name === currentName) ?? contexts[0])?.context);
  const clusterEntry = entries('clusters').find((entry) => entry.name === context['cluster']) ?? entries('clusters')[0];
  const userEntry = entries('users').find((entry) => entry.name === context['user']) ?? entries('users')[0];
  const cluster = record(clusterEntry?.cluster);
  const user = record(userEntry?.user);

  const server = text(cluster['server']);
  const caCertificatePem = fromBase64(cluster['certificate-authority-data']);
  if (server === null) throw new CloudError('cloud-response-invalid', `${source} names no server`);
  if (caCertificatePem === null) throw new CloudError('cloud-response-invalid', `${source} has no certificate-authority-data`);

  const exec = record(user['exec']);
  const command = text(exec['command']);
  const args = Array.isArray(exec['args']) ? exec['args'].filter((arg): arg is string => typeof arg === 'string') : [];
  const serverIdAt = args.indexOf('--server-id');
  return {
    server,
    caCertificatePem,
    token: text(user['token']),
    clientCertificatePem: fromBase64(user['client-certificate-data']),
    clientKeyPem: fromBase64(user['client-key-data']),
    exec: command === null ? null : { command, serverId: serverIdAt >= 0 ? (args[serverIdAt + 1] ?? null) : null },
  };
}
