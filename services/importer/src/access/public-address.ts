import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { caBundleFile, readCaBundle } from '../connectivity/tunnel-config.js';
import { normaliseApiServer } from '../credentials/binding.js';

/** Where operators reach Flotilla, for the kubeconfigs the importer writes; spread into its configuration schema. */
export const PublicAddressConfig = {
  /** Flotilla's one public address (`https://flotilla.example.com`), the kubeconfigs' server; unset: the request's origin. */
  FLOTILLA_PUBLIC_URL: z
    .string()
    .superRefine((url, context) => {
      const normalised = normaliseApiServer(url);
      if (!normalised.ok) context.addIssue({ code: 'custom', message: `${normalised.problem} (kubeconfigs send the caller's token there)` });
    })
    .optional(),
  /** PEM file of the CA that signed the public address's certificate, written into kubeconfigs (else kubectl uses the system roots). */
  FLOTILLA_PUBLIC_CA_FILE: caBundleFile.optional(),
};

export interface PublicAddress {
  /** Normalised `https://host[:port][/path]`; undefined: the origin each request came to. */
  url: string | undefined;
  caCertificatePem: string | null;
}

export const PUBLIC_ADDRESS = Symbol('PublicAddress');

export function publicAddressOf(config: { FLOTILLA_PUBLIC_URL?: string | undefined; FLOTILLA_PUBLIC_CA_FILE?: string | undefined }): PublicAddress {
  const normalised = config.FLOTILLA_PUBLIC_URL === undefined ? undefined : normaliseApiServer(config.FLOTILLA_PUBLIC_URL);
  return {
    url: normalised?.ok ? normalised.url : undefined,
    caCertificatePem: config.FLOTILLA_PUBLIC_CA_FILE === undefined ? null : readCaBundle(config.FLOTILLA_PUBLIC_CA_FILE),
  };
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();

/**
 * The origin a request came to: the entry point's X-Forwarded-Proto and X-Forwarded-Host (with
 * X-Forwarded-Port when the host has none), else this service's own Host. Only the caller's own
 * kubeconfig is shaped by it.
 */
export function requestOrigin(headers: IncomingHttpHeaders, encrypted: boolean): string {
  const proto = first(headers['x-forwarded-proto']) ?? (encrypted ? 'https' : 'http');
  let host = first(headers['x-forwarded-host']) ?? first(headers.host) ?? 'localhost';
  const port = first(headers['x-forwarded-port']);
  if (headers['x-forwarded-host'] !== undefined && port && !/:\d+$/.test(host) && !((proto === 'https' && port === '443') || (proto === 'http' && port === '80'))) host = `${host}:${port}`;
  return `${proto}://${host}`;
}
