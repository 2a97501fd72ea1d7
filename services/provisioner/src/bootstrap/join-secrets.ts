import { createHash, randomBytes, randomInt } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import { generateClusterCaCertificate } from './cluster-ca.js';
import { BOOTSTRAP_TOKEN_TTL_MS, UPLOADED_CERTIFICATES_TTL_MS } from './join-lifetimes.js';

/**
 * What a machine needs to become a node of one cluster, and nothing of any other cluster:
 * - `bootstrapToken`: a kubeadm bootstrap token (`<id>.<secret>`), created by `kubeadm init` on the
 *   first control-plane node and used by every other node to join;
 * - `certificateKey`: the key `kubeadm init --upload-certs` encrypts the control-plane
 *   certificates with, so further control-plane nodes can fetch them (`--certificate-key`);
 * - `ca`: the cluster CA, made here rather than by kubeadm so that its hash is known before the
 *   first node boots (kubeadm uses `/etc/kubernetes/pki/ca.{crt,key}` when they exist);
 * - `caCertHash`: what `kubeadm join --discovery-token-ca-cert-hash` expects.
 * All of it is secret except `caCertHash` and the CA certificate.
 *
 * The token and the uploaded certificates do not last: kubeadm deletes a bootstrap token when its
 * TTL runs out (24 h here) and the `kubeadm-certs` Secret two hours after the upload. Machines
 * that join later (scale-ups, replacements, upgrades by replacement) need fresh ones, made in the
 * running cluster (`JoinSecretsRepository.forJoin`), so the set records when each was made.
 */
export interface JoinSecrets {
  clusterId: string;
  bootstrapToken: string;
  certificateKey: string;
  ca: { certificatePem: string; privateKeyPem: string };
  caCertHash: string;
  /**
   * When the token was minted (ISO 8601, by the provisioner's clock). The first token is
   * created by `kubeadm init`, later than the set was made: counting from the set is the safe side.
   */
  bootstrapTokenMintedAt: string;
  /** When the control-plane certificates were last uploaded with `certificateKey` (the same safe side for init's upload). */
  certificatesUploadedAt: string;
}

export { BOOTSTRAP_TOKEN_TTL_MS, UPLOADED_CERTIFICATES_TTL_MS };

/** What a join needs of the set: a token, and for a control-plane node the certificates too, valid until `until`. */
export interface JoinNeed {
  controlPlane: boolean;
  until: Date;
}

/** What must be made again in the running cluster before a join can use the set. */
export interface StaleJoinMaterial {
  bootstrapToken: boolean;
  certificates: boolean;
}

export const BOOTSTRAP_TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
export const CERTIFICATE_KEY_PATTERN = /^[0-9a-f]{64}$/;
export const CA_CERT_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The stored form, checked when read back so a damaged or foreign record is never used. */
export const JoinSecretsSchema = z.object({
  clusterId: z.string().min(1),
  bootstrapToken: z.string().regex(BOOTSTRAP_TOKEN_PATTERN, 'must be a kubeadm bootstrap token'),
  certificateKey: z.string().regex(CERTIFICATE_KEY_PATTERN, 'must be 64 hex characters'),
  ca: z.object({
    certificatePem: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
    privateKeyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'),
  }),
  caCertHash: z.string().regex(CA_CERT_HASH_PATTERN, 'must be sha256:<64 hex>'),
  // Absent in sets stored before lifetimes were recorded: the repository dates them by the record.
  bootstrapTokenMintedAt: z.string().datetime().optional(),
  certificatesUploadedAt: z.string().datetime().optional(),
});

/** kubeadm's CA lasts ten years; so does this one. */
const CA_VALIDITY_YEARS = 10;
const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export async function generateJoinSecrets(clusterId: string, now: Date = new Date()): Promise<JoinSecrets> {
  if (clusterId.length === 0) throw new Error('clusterId must not be empty');
  const { ca, caCertHash } = await generateClusterCa(clusterId, now);
  return {
    clusterId,
    bootstrapToken: generateBootstrapToken(),
    certificateKey: randomBytes(32).toString('hex'),
    ca,
    caCertHash,
    bootstrapTokenMintedAt: now.toISOString(),
    certificatesUploadedAt: now.toISOString(),
  };
}

/** A new kubeadm bootstrap token, `<6>.<16>` of `[a-z0-9]`. */
export function generateBootstrapToken(): string {
  return `${randomToken(6)}.${randomToken(16)}`;
}

export function bootstrapTokenExpiresAt(secrets: JoinSecrets): Date {
  return new Date(Date.parse(secrets.bootstrapTokenMintedAt) + BOOTSTRAP_TOKEN_TTL_MS);
}

export function certificatesExpireAt(secrets: JoinSecrets): Date {
  return new Date(Date.parse(secrets.certificatesUploadedAt) + UPLOADED_CERTIFICATES_TTL_MS);
}

/**
 * What does not last until the end of the join's window: a machine given the set keeps it until
 * it joins (its first boot may come minutes later), so valid now is not enough.
 */
export function staleJoinMaterial(secrets: JoinSecrets, need: JoinNeed): StaleJoinMaterial {
  return {
    bootstrapToken: bootstrapTokenExpiresAt(secrets).getTime() <= need.until.getTime(),
    certificates: need.controlPlane && certificatesExpireAt(secrets).getTime() <= need.until.getTime(),
  };
}

/**
 * `sha256:` and the hex SHA-256 of the CA's DER SubjectPublicKeyInfo: the public-key pin
 * `kubeadm join --discovery-token-ca-cert-hash` checks the cluster-info CA against.
 */
export function caCertHashOf(certificatePem: string): string {
  const certificate = new x509.X509Certificate(certificatePem);
  return spkiPin(new Uint8Array(certificate.publicKey.rawData));
}

function spkiPin(spki: Uint8Array): string {
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The bootstrap token's public half, the name of its Secret in kube-system (`bootstrap-token-<id>`). */
export function bootstrapTokenId(token: string): string {
  return token.slice(0, token.indexOf('.'));
}

function randomToken(length: number): string {
  let token = '';
  // randomInt draws without modulo bias.
  for (let index = 0; index < length; index++) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

/**
 * The CA and its pin. The pin is taken from the public key as made (its DER SubjectPublicKeyInfo
 * is the certificate's), not from the certificate parsed back.
 */
async function generateClusterCa(clusterId: string, now: Date): Promise<Pick<JoinSecrets, 'ca' | 'caCertHash'>> {
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const { certificatePem, privateKeyPem, spki } = generateClusterCaCertificate({
    // kubeadm names its CA "kubernetes"; the unit says which cluster it belongs to.
    name: [
      { type: 'CN', value: 'kubernetes' },
      { type: 'OU', value: `flotilla cluster ${clusterId}` },
    ],
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter,
  });
  return { ca: { certificatePem, privateKeyPem }, caCertHash: spkiPin(spki) };
}
