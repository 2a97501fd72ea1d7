import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { caFingerprints, normaliseApiServer } from '../credentials/binding.js';
import type { TunnelBrokerSettings } from './tunnel-access.js';

/** Reads a PEM bundle of CA certificates; throws a message for the variable's problem. */
export function readCaBundle(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let count: number;
  try {
    count = caFingerprints(pem).length;
  } catch {
    throw new Error('holds a certificate that cannot be parsed');
  }
  if (count === 0) throw new Error('holds no PEM certificate');
  return pem;
}

/** A variable naming a PEM file of CA certificates: checked readable and parseable at start-up. */
export const caBundleFile = z
  .string()
  .min(1)
  .superRefine((path, context) => {
    try {
      readCaBundle(path);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** How the importer reaches clusters registered through the tunnel, to spread into its configuration schema. */
export const TunnelBrokerConfig = {
  /** The tunnel broker's internal base URL; its proxy serves each registered cluster's API under /api/v1/tunnels/<id>/k8s. */
  TUNNEL_BROKER_URL: z
    .string()
    .superRefine((url, context) => {
      // The same rules as any API server a token is sent to: https, no user, query or fragment.
      const normalised = normaliseApiServer(url);
      if (!normalised.ok) context.addIssue({ code: 'custom', message: `${normalised.problem} (the importer sends its own token there)` });
    })
    .optional(),
  /** PEM file of the CA that signed the broker's certificate (else the system roots verify it). */
  TUNNEL_BROKER_CA_FILE: caBundleFile.optional(),
};

export function tunnelBrokerSettings(config: { TUNNEL_BROKER_URL?: string | undefined; TUNNEL_BROKER_CA_FILE?: string | undefined }): TunnelBrokerSettings {
  return { url: config.TUNNEL_BROKER_URL, caCertificatePem: config.TUNNEL_BROKER_CA_FILE === undefined ? null : readCaBundle(config.TUNNEL_BROKER_CA_FILE) };
}
