import { readFileSync } from 'node:fs';
import { ApiException, CoreV1Api, createConfiguration, KubeConfig, type RequestContext, ServerConfiguration, type V1Secret } from '@kubernetes/client-node';
import type { KubernetesAccess } from './config.js';
import type { Credential } from './credential.js';

/** The keys of the credential Secret. */
const KEY = 'tls.key';
const CERTIFICATE = 'tls.crt';
const CA = 'ca.crt';
const TUNNEL_ADDRESS = 'tunnel-address';
const CLUSTER_ID = 'cluster-id';
const TOKEN_SHA256 = 'token-sha256';
const STOPPED_AT = 'stopped-at';
const REGISTRATION_TOKEN = 'token';
const CONFLICT_RETRIES = 5;

export type StoredState =
  | { kind: 'none' }
  | { kind: 'stopped'; clusterId: string | undefined; stoppedAt: string; tokenSha256: string | undefined }
  | { kind: 'enrolled'; credential: Credential };

/** The service account's token as the API server takes it (kubelet-projected tokens end without a newline; a hand-written one may not). */
export function readServiceAccountToken(tokenFile: string): string {
  return readFileSync(tokenFile, 'utf8').trim();
}

/** How long a token read from its file is used before the file is read again. */
export const TOKEN_REREAD_MS = 10_000;

/**
 * The service account's token for the requests the agent forwards, read from its file at most
 * every `rereadMs` rather than for each request (a file read, four syscalls, on the request's
 * way): the kubelet writes a new token once four fifths of the old one's life have passed, so
 * the old one stays good far longer than that (client-go reads the file once a minute).
 */
export function serviceAccountToken(tokenFile: string, rereadMs = TOKEN_REREAD_MS, now: () => number = () => performance.now()): () => string {
  let token: string | undefined;
  let readAt = 0;
  return () => {
    if (token === undefined || now() - readAt >= rereadMs) {
      token = readServiceAccountToken(tokenFile);
      readAt = now();
    }
    return token;
  };
}

/**
 * The API server as the agent's own service account reaches it: the cluster's CA from the
 * KubeConfig, the token read again for every request (the kubelet rotates it).
 */
export function coreApi(access: KubernetesAccess): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromClusterAndUser({ name: 'cluster', server: access.apiServer, caFile: access.caFile, skipTLSVerify: false }, { name: 'flotilla-tunnel-agent' });
  const auth = {
    getName: () => 'flotilla-tunnel-agent',
    applySecurityAuthentication: async (context: RequestContext) => {
      await config.applySecurityAuthentication(context);
      context.setHeaderParam('Authorization', `Bearer ${readServiceAccountToken(access.tokenFile)}`);
    },
  };
  return new CoreV1Api(createConfiguration({ baseServer: new ServerConfiguration(access.apiServer, {}), authMethods: { default: auth } }));
}

/**
 * The agent's credential in its own Secret, so a restarted pod dials again without a token: the
 * key, certificate, CA and tunnel address, or a "stopped" marker once its cluster was removed
 * from Flotilla. Every write replaces the Secret at the version it read (optimistic concurrency).
 */
export class CredentialStore {
  constructor(
    private readonly api: CoreV1Api,
    private readonly namespace: string,
    readonly name: string,
  ) {}

  async read(): Promise<StoredState> {
    const data = decode((await this.get())?.data);
    if (data[STOPPED_AT]) return { kind: 'stopped', clusterId: data[CLUSTER_ID], stoppedAt: data[STOPPED_AT], tokenSha256: data[TOKEN_SHA256] };
    const [key, certificate, caCertificate, tunnelAddress, clusterId] = [data[KEY], data[CERTIFICATE], data[CA], data[TUNNEL_ADDRESS], data[CLUSTER_ID]];
    if (!key || !certificate || !caCertificate || !tunnelAddress || !clusterId) return { kind: 'none' };
    return { kind: 'enrolled', credential: { clusterId, key, certificate, caCertificate, tunnelAddress, tokenSha256: data[TOKEN_SHA256] } };
  }

  async saveCredential(credential: Credential): Promise<void> {
    await this.write(() => ({
      [KEY]: credential.key,
      [CERTIFICATE]: credential.certificate,
      [CA]: credential.caCertificate,
      [TUNNEL_ADDRESS]: credential.tunnelAddress,
      [CLUSTER_ID]: credential.clusterId,
      ...(credential.tokenSha256 ? { [TOKEN_SHA256]: credential.tokenSha256 } : {}),
    }));
  }

  /** A renewed certificate for the stored key. */
  async saveCertificate(certificate: string): Promise<void> {
    await this.write((data) => {
      if (!data[KEY] || data[STOPPED_AT]) throw new Error(`the Secret ${this.namespace}/${this.name} holds no credential to renew`);
      return { ...data, [CERTIFICATE]: certificate };
    });
  }

  /** Forgets the credential, keeping only who was stopped, when, and with which token it had enrolled. */
  async markStopped(clusterId: string, tokenSha256: string | undefined, now = new Date()): Promise<void> {
    await this.write(() => ({ [STOPPED_AT]: now.toISOString(), [CLUSTER_ID]: clusterId, ...(tokenSha256 ? { [TOKEN_SHA256]: tokenSha256 } : {}) }));
  }

  private async get(): Promise<V1Secret | undefined> {
    try {
      return await this.api.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw describe(error, `read the Secret ${this.namespace}/${this.name}`);
    }
  }

  private async write(next: (data: Record<string, string>) => Record<string, string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get();
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { ...(current?.metadata ?? {}), name: this.name, namespace: this.namespace },
        type: current?.type ?? 'Opaque',
        data: encode(next(decode(current?.data))),
      };
      try {
        if (current) await this.api.replaceNamespacedSecret({ name: this.name, namespace: this.namespace, body });
        // The manifest creates the Secret; creating it here serves runs outside that manifest (with the right to).
        else await this.api.createNamespacedSecret({ namespace: this.namespace, body });
        return;
      } catch (error) {
        if (error instanceof ApiException && error.code === 409 && attempt < CONFLICT_RETRIES) continue;
        if (!current && error instanceof ApiException && error.code === 403) throw new Error(`could not write the Secret ${this.namespace}/${this.name}: it does not exist and the agent may not create it (apply the registration's manifest again)`);
        throw describe(error, `write the Secret ${this.namespace}/${this.name}`);
      }
    }
  }
}

/** The Secret the registration token came in: blanked once the token is used (it is worthless then, and better gone). */
export class RegistrationSecret {
  constructor(
    private readonly api: CoreV1Api,
    private readonly namespace: string,
    readonly name: string,
  ) {}

  /** True when there was a token to remove. */
  async removeToken(): Promise<boolean> {
    let secret: V1Secret;
    try {
      secret = await this.api.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return false;
      throw describe(error, `read the Secret ${this.namespace}/${this.name}`);
    }
    if (secret.data?.[REGISTRATION_TOKEN] === undefined && secret.stringData?.[REGISTRATION_TOKEN] === undefined) return false;
    const data = { ...(secret.data ?? {}) };
    delete data[REGISTRATION_TOKEN];
    try {
      await this.api.replaceNamespacedSecret({ name: this.name, namespace: this.namespace, body: { ...secret, data, stringData: undefined } });
    } catch (error) {
      throw describe(error, `remove the used token from the Secret ${this.namespace}/${this.name}`);
    }
    return true;
  }
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

/** What went wrong, without the body the API server sent back (it could echo what was written). */
function describe(error: unknown, action: string): Error {
  if (error instanceof ApiException) {
    const reason = error.code === 403 ? "forbidden: the agent's Role must allow get and update on it" : error.code === 404 ? "it does not exist: apply the registration's manifest again" : `the API server answered ${error.code}`;
    return new Error(`could not ${action}: ${reason}`);
  }
  return new Error(`could not ${action}: ${(error as Error).message}`);
}
