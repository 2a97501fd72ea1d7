import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { Secret } from '@flotilla/secrets';
import type { FieldProblem } from '@flotilla/service-kit';
import { z } from 'zod';
import { AwsAccount, AzureAccount, GcpAccount } from '../clouds/accounts.js';
import { bindingOf, normaliseApiServer } from './binding.js';
import { CLOUD_ACCOUNT_PROVIDERS, type CloudAccountProvider, type CredentialKind, type CredentialMetadata, type CredentialSource } from './credential-store.js';
import { jwtExpiry } from './jwt.js';

export const CredentialRef = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/, 'must be 1-128 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit');

const MAX_PEM = 64 * 1024;
const pem = (what: string) => z.string().min(1, `must be a PEM ${what}`).max(MAX_PEM, `must be at most ${MAX_PEM} characters`);
const caCertificatePem = pem('CA certificate (or bundle)').optional().describe('CA that signed the API server certificate; absent: the system roots');
const server = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required: the https:// URL of the API server this credential is for (it is sent nowhere else)' : 'must be a string') })
  .min(1, 'must be the https:// URL of the API server this credential is for')
  .max(2048, 'must be at most 2048 characters')
  .describe('API server this credential is bound to: imports naming another address are refused');

/**
 * POST /api/v1/credentials. A kubeconfig is taken apart here: the chosen context's server, CA and
 * token or client certificate are stored as the matching kind (nothing of it runs: no exec
 * plugins, no files). Messages never repeat a value: every input here is secret.
 */
export const RegisterCredentialBody = z.discriminatedUnion(
  'kind',
  [
    z.object({
      ref: CredentialRef,
      kind: z.literal('bearer-token'),
      token: z.string().min(1, 'is required').max(16_384, 'must be at most 16384 characters').regex(/^\S+$/, 'must be a single token, without spaces or line breaks'),
      server,
      caCertificatePem,
    }),
    z.object({
      ref: CredentialRef,
      kind: z.literal('client-certificate'),
      certificatePem: pem('certificate'),
      privateKeyPem: pem('private key'),
      server,
      caCertificatePem,
    }),
    z.object({
      ref: CredentialRef,
      kind: z.literal('kubeconfig'),
      kubeconfig: z.string().min(1, 'must be a kubeconfig YAML document').max(1024 * 1024, 'must be at most 1 MiB'),
      context: z.string().min(1).optional().describe('Context to use; absent: the current-context'),
    }),
    z.object({
      ref: CredentialRef,
      kind: z.literal('cloud-account'),
      provider: z.enum(CLOUD_ACCOUNT_PROVIDERS),
      account: z
        .union([z.record(z.string(), z.unknown()), z.string().min(1)], { error: 'must be an object (or, for gke, the service-account key file as a string)' })
        .describe('eks: {accessKeyId, secretAccessKey, sessionToken?}; aks: {tenantId, clientId, clientSecret}; gke: the service-account key file'),
    }),
  ],
  { error: 'must be one of bearer-token, client-certificate, kubeconfig, cloud-account' },
);
export type RegisterCredentialBody = z.infer<typeof RegisterCredentialBody>;

/** A credential ready to store: the secret sealed as one JSON document, the rest in plain text. */
export interface PreparedCredential {
  ref: string;
  kind: CredentialKind;
  source: CredentialSource;
  expiresAt: Date | null;
  metadata: CredentialMetadata;
  secret: Secret;
}

/**
 * The sealed JSON document of each kind (what CredentialStore.open reads back). `server` is the
 * binding; documents sealed before bindings have none (and are sent nowhere).
 */
export type CredentialPayload =
  | { kind: 'bearer-token'; token: string; server?: string; caCertificatePem: string | null }
  | { kind: 'client-certificate'; certificatePem: string; privateKeyPem: string; server?: string; caCertificatePem: string | null }
  | { kind: 'cloud-account'; provider: CloudAccountProvider; account: Record<string, unknown> };

export type Preparation = { ok: true; credential: PreparedCredential } | { ok: false; errors: FieldProblem[] };

class Invalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks what can be checked without the cluster (PEM, key pair, expiry) and shapes the credential. */
export function prepareCredential(body: RegisterCredentialBody, now: Date): Preparation {
  try {
    return { ok: true, credential: prepare(body, now) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, errors: [{ field: error.field, message: error.message }] };
    throw error;
  }
}

function prepare(body: RegisterCredentialBody, now: Date): PreparedCredential {
  switch (body.kind) {
    case 'bearer-token':
      return fromToken(body.ref, 'token', body.token, boundServer(body.server, 'server'), body.caCertificatePem ?? null, { token: 'token', ca: 'caCertificatePem' }, {}, now);
    case 'client-certificate':
      return fromClientCertificate(
        body.ref,
        'client-certificate',
        body.certificatePem,
        body.privateKeyPem,
        boundServer(body.server, 'server'),
        body.caCertificatePem ?? null,
        { certificate: 'certificatePem', key: 'privateKeyPem', ca: 'caCertificatePem' },
        {},
        now,
      );
    case 'kubeconfig':
      return fromKubeconfig(body.ref, body.kubeconfig, body.context, now);
    case 'cloud-account':
      return fromCloudAccount(body.ref, body.provider, body.account);
  }
}

/** The normalised API server a token or certificate is bound to. */
function boundServer(text: string, field: string, subject?: string): string {
  const normalised = normaliseApiServer(text);
  if (!normalised.ok) throw new Invalid(field, subject === undefined ? normalised.problem : `${subject} ${normalised.problem}`);
  return normalised.url;
}

/** What the description shows of a token's or certificate's binding (the server, the CA's fingerprints). */
function bindingMetadata(server: string, ca: string | null): CredentialMetadata {
  const binding = bindingOf(server, ca);
  if (!binding) throw new Error('boundServer gives a normalised server');
  return { caCertificate: ca === null ? 'system-roots' : 'stored', binding };
}

function fromToken(ref: string, source: CredentialSource, token: string, server: string, ca: string | null, fields: { token: string; ca: string }, metadata: CredentialMetadata, now: Date): PreparedCredential {
  const expiresAt = jwtExpiry(token) ?? null;
  if (expiresAt && expiresAt.getTime() <= now.getTime()) throw new Invalid(fields.token, `the token expired at ${expiresAt.toISOString()}`);
  if (ca !== null) checkCa(ca, fields.ca);
  const payload: CredentialPayload = { kind: 'bearer-token', token, server, caCertificatePem: ca };
  return { ref, kind: 'bearer-token', source, expiresAt, metadata: { ...metadata, ...bindingMetadata(server, ca) }, secret: new Secret(JSON.stringify(payload)) };
}

function fromClientCertificate(
  ref: string,
  source: CredentialSource,
  certificatePem: string,
  privateKeyPem: string,
  server: string,
  ca: string | null,
  fields: { certificate: string; key: string; ca: string },
  metadata: CredentialMetadata,
  now: Date,
): PreparedCredential {
  const certificate = parseCertificate(certificatePem, fields.certificate, 'client certificate');
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new Invalid(fields.key, 'is not a PEM private key (PKCS#1, PKCS#8 or SEC1, unencrypted)');
  }
  if (!certificate.checkPrivateKey(key)) throw new Invalid(fields.key, `does not belong to the certificate in ${fields.certificate}`);
  const expiresAt = new Date(certificate.validTo);
  if (expiresAt.getTime() <= now.getTime()) throw new Invalid(fields.certificate, `the certificate expired at ${expiresAt.toISOString()}`);
  if (ca !== null) checkCa(ca, fields.ca);
  const payload: CredentialPayload = { kind: 'client-certificate', certificatePem, privateKeyPem, server, caCertificatePem: ca };
  return {
    ref,
    kind: 'client-certificate',
    source,
    expiresAt,
    metadata: { ...metadata, subject: certificate.subject.split('\n').join(', '), ...bindingMetadata(server, ca) },
    secret: new Secret(JSON.stringify(payload)),
  };
}

function fromKubeconfig(ref: string, text: string, requestedContext: string | undefined, now: Date): PreparedCredential {
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw new Invalid('kubeconfig', `is not a valid kubeconfig: ${kubeconfigProblem(error)}`);
  }
  const contexts = config.getContexts().map((context) => context.name);
  const contextName = requestedContext ?? config.getCurrentContext();
  if (!contextName) {
    throw new Invalid('context', `the kubeconfig has no current-context: name one of its contexts (${contexts.join(', ') || 'it has none'})`);
  }
  const context = config.getContextObject(contextName);
  if (!context) throw new Invalid(requestedContext === undefined ? 'kubeconfig' : 'context', `the kubeconfig has no context "${contextName}" (it has: ${contexts.join(', ') || 'none'})`);
  const where = `context "${contextName}"`;
  const cluster = config.getCluster(context.cluster);
  if (!cluster) throw new Invalid('kubeconfig', `${where} names cluster "${context.cluster}", which the kubeconfig does not define`);
  const user = config.getUser(context.user);
  if (!user) throw new Invalid('kubeconfig', `${where} names user "${context.user}", which the kubeconfig does not define`);
  const clusterField = `kubeconfig: cluster "${cluster.name}"`;
  const userField = `kubeconfig: user "${user.name}"`;
  if (!/^https:\/\//.test(cluster.server)) throw new Invalid('kubeconfig', `${clusterField} has server ${JSON.stringify(cluster.server)}: the importer only talks to https:// API servers`);
  if (cluster.skipTLSVerify) throw new Invalid('kubeconfig', `${clusterField} sets insecure-skip-tls-verify: the importer always verifies the API server; give its certificate-authority-data instead`);
  if (cluster.caFile) throw new Invalid('kubeconfig', `${clusterField} points to a certificate-authority file, which the importer cannot read: embed it as certificate-authority-data (kubectl config view --raw --flatten)`);
  if (cluster.proxyUrl) throw new Invalid('kubeconfig', `${clusterField} sets proxy-url, which the importer does not support`);
  const ca = cluster.caData ? decodeBase64(cluster.caData, 'kubeconfig', `${clusterField} certificate-authority-data`) : null;
  // The credential is bound to this context's server and CA: it is sent nowhere else.
  const server = boundServer(cluster.server, 'kubeconfig', `${clusterField}: its server`);
  const metadata: CredentialMetadata = { apiServer: server, context: contextName };
  const fields = { token: 'kubeconfig', ca: 'kubeconfig' };
  if (user.exec) throw new Invalid('kubeconfig', `${userField} uses an exec plugin, which the importer does not run: give a service-account token or a client certificate`);
  if (user.authProvider) throw new Invalid('kubeconfig', `${userField} uses an auth-provider, which the importer does not run: give a service-account token or a client certificate`);
  if (user.token) return fromToken(ref, 'kubeconfig', user.token, server, ca, fields, metadata, now);
  if (user.certData || user.keyData) {
    if (!user.certData) throw new Invalid('kubeconfig', `${userField} has client-key-data but no client-certificate-data`);
    if (!user.keyData) throw new Invalid('kubeconfig', `${userField} has client-certificate-data but no client-key-data`);
    const certificate = decodeBase64(user.certData, 'kubeconfig', `${userField} client-certificate-data`);
    const key = decodeBase64(user.keyData, 'kubeconfig', `${userField} client-key-data`);
    return fromClientCertificate(ref, 'kubeconfig', certificate, key, server, ca, { certificate: 'kubeconfig', key: 'kubeconfig', ca: 'kubeconfig' }, metadata, now);
  }
  if (user.certFile || user.keyFile) throw new Invalid('kubeconfig', `${userField} points to certificate files, which the importer cannot read: embed them (kubectl config view --raw --flatten)`);
  if (user.username) throw new Invalid('kubeconfig', `${userField} uses basic authentication, which Kubernetes no longer supports: give a token or a client certificate`);
  throw new Invalid('kubeconfig', `${userField} has neither a token nor client-certificate-data and client-key-data`);
}

function fromCloudAccount(ref: string, provider: CloudAccountProvider, given: Record<string, unknown> | string): PreparedCredential {
  let document: unknown = given;
  if (typeof given === 'string') {
    try {
      document = JSON.parse(given);
    } catch {
      throw new Invalid('account', 'is a string but not a JSON document (the service-account key file)');
    }
  }
  const schema = provider === 'eks' ? AwsAccount : provider === 'aks' ? AzureAccount : GcpAccount;
  const result = schema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Invalid(['account', ...(issue?.path.map(String) ?? [])].join('.'), `${issue?.message ?? 'is invalid'} (a ${provider} account)`);
  }
  const payload: CredentialPayload = { kind: 'cloud-account', provider, account: result.data };
  return { ref, kind: 'cloud-account', source: 'cloud-account', expiresAt: null, metadata: { provider }, secret: new Secret(JSON.stringify(payload)) };
}

function parseCertificate(text: string, field: string, what: string): X509Certificate {
  try {
    return new X509Certificate(text);
  } catch {
    throw new Invalid(field, `is not a PEM ${what}`);
  }
}

function checkCa(text: string, field: string): void {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Invalid(field, 'is not a PEM CA certificate (no BEGIN CERTIFICATE block)');
  for (const block of blocks) {
    const certificate = parseCertificate(block, field, 'CA certificate');
    if (!certificate.ca) throw new Invalid(field, `holds a certificate that is not a CA (${certificate.subject.split('\n').join(', ')})`);
  }
}

function decodeBase64(value: string, field: string, what: string): string {
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) throw new Invalid(field, `${what} is not base64 of a PEM document`);
  return text;
}

/** What is wrong with a kubeconfig, without quoting it (YAML errors otherwise show the lines around). */
function kubeconfigProblem(error: unknown): string {
  if (error instanceof Error && error.name === 'YAMLException') {
    const { reason, mark } = error as Error & { reason?: string; mark?: { line?: number } };
    return `YAML ${reason ?? 'syntax error'}${mark?.line === undefined ? '' : ` at line ${mark.line + 1}`}`;
  }
  if (error instanceof Error && /^(clusters|users|contexts)\[\d+\]/.test(error.message)) return error.message;
  return 'expected a YAML mapping with clusters, users and contexts';
}
