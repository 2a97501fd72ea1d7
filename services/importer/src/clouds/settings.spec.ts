import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudConfigVariables, cloudSettingsFrom, PUBLIC_CLOUD_SETTINGS } from './settings.js';

describe('cloud settings', () => {
  it('defaults to the public clouds', () => {
    assert.deepEqual(cloudSettingsFrom(CloudConfigVariables.parse({})), PUBLIC_CLOUD_SETTINGS);
  });

  it('takes sovereign endpoints, deriving the ARM scope from the ARM endpoint', () => {
    const settings = cloudSettingsFrom(
      CloudConfigVariables.parse({
        CLOUD_AZURE_ARM_ENDPOINT: 'https://management.chinacloudapi.cn/',
        CLOUD_AZURE_AUTHORITY_HOST: 'https://login.chinacloudapi.cn',
        CLOUD_EKS_ENDPOINT: 'https://eks.{region}.amazonaws.com.cn',
        CLOUD_MAX_ATTEMPTS: '5',
      }),
    );
    assert.equal(settings.aks.endpoint, 'https://management.chinacloudapi.cn');
    assert.equal(settings.aks.credentialScope, 'https://management.chinacloudapi.cn/.default');
    assert.equal(settings.eks.endpoint, 'https://eks.{region}.amazonaws.com.cn');
    assert.equal(settings.maxAttempts, 5);
  });

  it("reads node pool sizes at Google's Compute Engine with Google's GKE, else where GKE is unless told", () => {
    const proxied = cloudSettingsFrom(CloudConfigVariables.parse({ CLOUD_GKE_API_ENDPOINT: 'https://gke-proxy.internal/' }));
    assert.equal(proxied.gke.computeEndpoint, 'https://gke-proxy.internal');
    const told = cloudSettingsFrom(CloudConfigVariables.parse({ CLOUD_GKE_API_ENDPOINT: 'https://gke-proxy.internal', CLOUD_GCE_API_ENDPOINT: 'https://gce-proxy.internal/' }));
    assert.equal(told.gke.computeEndpoint, 'https://gce-proxy.internal');
  });

  it('refuses a plain-http endpoint, naming the variable', () => {
    const result = CloudConfigVariables.safeParse({ CLOUD_GKE_API_ENDPOINT: 'http://container.googleapis.com' });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues.map((issue) => issue.path.join('.')), ['CLOUD_GKE_API_ENDPOINT']);
  });

  it('paces each cloud at the rate it is given, the burst a second of it unless told', () => {
    const settings = cloudSettingsFrom(CloudConfigVariables.parse({ CLOUD_EKS_REQUEST_RATE: '95/90', CLOUD_GKE_REQUEST_RATE: '40', CLOUD_LIST_MAX_AGE_MS: '125' }));
    assert.deepEqual(settings.requestRates, { eks: { perSecond: 95, burst: 90 }, aks: PUBLIC_CLOUD_SETTINGS.requestRates.aks, gke: { perSecond: 40, burst: 40 } });
    assert.equal(settings.listMaxAgeMs, 125);
  });

  it('takes a window as a cloud counts its quota: so many requests in any second, minute or ms', () => {
    const settings = cloudSettingsFrom(CloudConfigVariables.parse({ CLOUD_GKE_REQUEST_RATE: '95 per 1100ms', CLOUD_AKS_REQUEST_RATE: '3000 per 1m', CLOUD_EKS_REQUEST_RATE: '10 per 1.5s' }));
    assert.deepEqual(settings.requestRates, { eks: { requests: 10, windowMs: 1_500 }, aks: { requests: 3_000, windowMs: 60_000 }, gke: { requests: 95, windowMs: 1_100 } });
  });

  it('refuses a request rate that is not one, naming the variable', () => {
    for (const bad of ['0', 'fast', '10/0', '-5', '0 per 1s', '10 per 0s', '10 per 1h', '10 per']) {
      const result = CloudConfigVariables.safeParse({ CLOUD_AKS_REQUEST_RATE: bad });
      assert.equal(result.success, false, bad);
      assert.deepEqual(result.error?.issues.map((issue) => issue.path.join('.')), ['CLOUD_AKS_REQUEST_RATE']);
    }
  });
});
