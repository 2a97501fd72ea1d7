import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { z } from 'zod';
import type { CloudProviderName } from './cloud-provider.js';
import type { RequestRate } from './request-budget.js';

/**
 * Where the cloud APIs are and how hard to try. The defaults are the public clouds; overrides
 * serve sovereign clouds (Azure China, AWS GovCloud...), private endpoints, and tests.
 * `{region}` in an AWS endpoint is replaced by the region of the call.
 */
export interface CloudSettings {
  eks: {
    /** EKS API, e.g. `https://eks.{region}.amazonaws.com`; absent: the SDK's own endpoint for the region. */
    endpoint?: string;
    /** STS host the EKS token is presigned for; absent: `https://sts.{region}.amazonaws.com` (`.com.cn` in China). */
    stsEndpoint?: string;
  };
  aks: {
    /** Azure Resource Manager. */
    endpoint: string;
    /** Entra ID (Azure AD) authority. */
    authorityHost: string;
    /** Scope of ARM tokens; by default `<endpoint>/.default`. */
    credentialScope: string;
  };
  gke: {
    /** Google Kubernetes Engine API (REST). */
    apiEndpoint: string;
    /** OAuth 2.0 token endpoint the service account's assertion is exchanged at. */
    tokenUri: string;
    /** Compute Engine API (REST): the instance groups that hold a node pool's current size. */
    computeEndpoint: string;
  };
  /** Extra CA certificates (PEM) to trust besides the public ones: TLS-inspecting proxies, private endpoints. */
  extraCaCertificatesPem: string | null;
  /** One call to a cloud API, retries included, gives up after this long. */
  requestTimeoutMs: number;
  /** Attempts per call (1: no retry). */
  maxAttempts: number;
  /**
   * How fast the lifecycle side calls each cloud, per account and scope (EKS region, Azure
   * subscription, Google project): kept below the cloud's limit so it never has to throttle.
   */
  requestRates: Record<CloudProviderName, RequestRate>;
  /**
   * How old a shared list of a location's clusters or operations (GKE, AKS) may be when read for one
   * cluster: one call serves every cluster of the account there meanwhile. Never older than our
   * last change to that cluster.
   */
  listMaxAgeMs: number;
}

/**
 * Request rates kept under what each cloud allows an account, with room for the account's other
 * clients: EKS throttles its control-plane API at a few tens of requests per second per account and
 * region, ARM refills a subscription's read bucket at 25 per second (250 held), GKE's default quota
 * is 3,000 requests per minute per project (a sliding minute: a small burst keeps any second under it).
 */
export const DEFAULT_REQUEST_RATES: Record<CloudProviderName, RequestRate> = {
  eks: { perSecond: 10, burst: 20 },
  aks: { perSecond: 20, burst: 100 },
  gke: { perSecond: 40, burst: 10 },
};

export const PUBLIC_CLOUD_SETTINGS: CloudSettings = {
  eks: {},
  aks: {
    endpoint: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    credentialScope: 'https://management.azure.com/.default',
  },
  gke: { apiEndpoint: 'https://container.googleapis.com', tokenUri: 'https://oauth2.googleapis.com/token', computeEndpoint: 'https://compute.googleapis.com' },
  extraCaCertificatesPem: null,
  requestTimeoutMs: 20_000,
  maxAttempts: 3,
  requestRates: DEFAULT_REQUEST_RATES,
  listMaxAgeMs: 15_000,
};

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });
const awsEndpoint = z
  .string()
  .refine((value) => z.url({ protocol: /^https$/ }).safeParse(value.replaceAll('{region}', 'region')).success, 'must be an https:// URL ({region} allowed)');

/** `20` or `20/100`: requests per second, then the burst; or `100 per 1s`, `3000 per 1m`: at most that many in any such window. */
function parseRequestRate(value: string): RequestRate | null {
  const window = /^\s*(\d+)\s+per\s+(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(value);
  if (window) {
    const requests = Number(window[1]);
    const windowMs = Number(window[2]) * { ms: 1, s: 1_000, m: 60_000 }[window[3] as 'ms' | 's' | 'm'];
    return requests >= 1 && windowMs > 0 ? { requests, windowMs } : null;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+)\s*)?$/.exec(value);
  if (!match) return null;
  const perSecond = Number(match[1]);
  const burst = match[2] === undefined ? Math.max(1, Math.floor(perSecond)) : Number(match[2]);
  return perSecond > 0 && burst >= 1 ? { perSecond, burst } : null;
}

const requestRate = z
  .string()
  .refine((value) => parseRequestRate(value) !== null, 'must be <requests per second>[/<burst>] (e.g. 20/100) or <requests> per <window> (e.g. 3000 per 1m), all positive');

/** The environment variables of the cloud settings, to merge into a service's config schema. */
export const CloudConfigVariables = z.object({
  CLOUD_EKS_ENDPOINT: awsEndpoint.optional(),
  CLOUD_AWS_STS_ENDPOINT: awsEndpoint.optional(),
  CLOUD_AZURE_ARM_ENDPOINT: httpsUrl.default(PUBLIC_CLOUD_SETTINGS.aks.endpoint),
  CLOUD_AZURE_AUTHORITY_HOST: httpsUrl.default(PUBLIC_CLOUD_SETTINGS.aks.authorityHost),
  CLOUD_AZURE_ARM_SCOPE: z.string().min(1).optional(),
  CLOUD_GKE_API_ENDPOINT: httpsUrl.default(PUBLIC_CLOUD_SETTINGS.gke.apiEndpoint),
  CLOUD_GCP_TOKEN_URI: httpsUrl.default(PUBLIC_CLOUD_SETTINGS.gke.tokenUri),
  /** Absent: Google's with Google's GKE endpoint, else the GKE endpoint's (a proxy or stand-in that serves both). */
  CLOUD_GCE_API_ENDPOINT: httpsUrl.optional(),
  CLOUD_CA_FILE: z.string().min(1).optional(),
  CLOUD_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(PUBLIC_CLOUD_SETTINGS.requestTimeoutMs),
  CLOUD_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(PUBLIC_CLOUD_SETTINGS.maxAttempts),
  /** `<requests per second>[/<burst>]` per cloud account and scope; the burst defaults to one second's worth. */
  CLOUD_EKS_REQUEST_RATE: requestRate.optional(),
  CLOUD_AKS_REQUEST_RATE: requestRate.optional(),
  CLOUD_GKE_REQUEST_RATE: requestRate.optional(),
  CLOUD_LIST_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(PUBLIC_CLOUD_SETTINGS.listMaxAgeMs),
});
export type CloudConfigVariables = z.infer<typeof CloudConfigVariables>;

const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '');

/** Settings from the parsed variables. Reads CLOUD_CA_FILE, so call it once at start. */
export function cloudSettingsFrom(variables: CloudConfigVariables): CloudSettings {
  const armEndpoint = withoutTrailingSlash(variables.CLOUD_AZURE_ARM_ENDPOINT);
  const gkeEndpoint = withoutTrailingSlash(variables.CLOUD_GKE_API_ENDPOINT);
  return {
    eks: {
      ...(variables.CLOUD_EKS_ENDPOINT === undefined ? {} : { endpoint: withoutTrailingSlash(variables.CLOUD_EKS_ENDPOINT) }),
      ...(variables.CLOUD_AWS_STS_ENDPOINT === undefined ? {} : { stsEndpoint: withoutTrailingSlash(variables.CLOUD_AWS_STS_ENDPOINT) }),
    },
    aks: {
      endpoint: armEndpoint,
      authorityHost: withoutTrailingSlash(variables.CLOUD_AZURE_AUTHORITY_HOST),
      credentialScope: variables.CLOUD_AZURE_ARM_SCOPE ?? `${armEndpoint}/.default`,
    },
    gke: {
      apiEndpoint: gkeEndpoint,
      tokenUri: variables.CLOUD_GCP_TOKEN_URI,
      computeEndpoint:
        variables.CLOUD_GCE_API_ENDPOINT !== undefined
          ? withoutTrailingSlash(variables.CLOUD_GCE_API_ENDPOINT)
          : gkeEndpoint === PUBLIC_CLOUD_SETTINGS.gke.apiEndpoint
            ? PUBLIC_CLOUD_SETTINGS.gke.computeEndpoint
            : gkeEndpoint,
    },
    extraCaCertificatesPem: variables.CLOUD_CA_FILE === undefined ? null : readFileSync(variables.CLOUD_CA_FILE, 'utf8'),
    requestTimeoutMs: variables.CLOUD_REQUEST_TIMEOUT_MS,
    maxAttempts: variables.CLOUD_MAX_ATTEMPTS,
    requestRates: {
      eks: rateOr(variables.CLOUD_EKS_REQUEST_RATE, DEFAULT_REQUEST_RATES.eks),
      aks: rateOr(variables.CLOUD_AKS_REQUEST_RATE, DEFAULT_REQUEST_RATES.aks),
      gke: rateOr(variables.CLOUD_GKE_REQUEST_RATE, DEFAULT_REQUEST_RATES.gke),
    },
    listMaxAgeMs: variables.CLOUD_LIST_MAX_AGE_MS,
  };
}

const rateOr = (value: string | undefined, fallback: RequestRate): RequestRate => (value === undefined ? fallback : (parseRequestRate(value) ?? fallback));

/**
 * The CA list for a TLS client: Node's public roots plus the extra ones. Undefined when there
 * are none, so the SDKs keep their defaults (`ca` replaces the roots instead of adding to them).
 */
export function trustedCas(settings: CloudSettings): string[] | undefined {
  return settings.extraCaCertificatesPem === null ? undefined : [...rootCertificates, settings.extraCaCertificatesPem];
}
