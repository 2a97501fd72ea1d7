import { PUBLIC_CLOUD_SETTINGS, type CloudSettings } from '../../../src/clouds/settings.js';
import { testTls } from './test-tls.js';

/**
 * Cloud settings pointing every API at stand-ins, trusting the test CA, with no retries, and request
 * rates far above what a test makes: a test of the budgets sets its own.
 */
export function standinSettings(urls: { eks?: string; aks?: string; gke?: string }): CloudSettings {
  return {
    eks: { ...(urls.eks === undefined ? {} : { endpoint: urls.eks, stsEndpoint: urls.eks }) },
    aks: urls.aks === undefined ? PUBLIC_CLOUD_SETTINGS.aks : { endpoint: urls.aks, authorityHost: urls.aks, credentialScope: `${urls.aks}/.default` },
    gke: urls.gke === undefined ? PUBLIC_CLOUD_SETTINGS.gke : { apiEndpoint: urls.gke, tokenUri: `${urls.gke}/token`, computeEndpoint: urls.gke },
    extraCaCertificatesPem: testTls().caPem,
    requestTimeoutMs: 5_000,
    maxAttempts: 1,
    // Every read asks the cloud: the tests look at the stand-ins' state as it changes.
    listMaxAgeMs: 0,
    requestRates: { eks: { perSecond: 1_000, burst: 1_000 }, aks: { perSecond: 1_000, burst: 1_000 }, gke: { perSecond: 1_000, burst: 1_000 } },
  };
}
