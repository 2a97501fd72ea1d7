#!/usr/bin/env node
// flotilla-tunnel-agent: configured by its environment only (see README.md), so it runs the same
// in a pod, beside a test, or by hand with FLOTILLA_SERVICE_ACCOUNT_DIR and FLOTILLA_KUBERNETES_API.
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';
import { jsonLog } from './log.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
let log = jsonLog({ version });

function fail(error: unknown): void {
  if (error instanceof ConfigError) log.error(`configuration: ${error.message}`, { variables: error.problems.map((p) => p.variable).join(',') });
  else log.error('the agent failed', { reason: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  log = jsonLog({ version, clusterId: config.clusterId, agentId: config.agentId });
  // Loaded once the configuration holds: the Kubernetes client takes a while, a bad variable should not.
  const [{ TunnelAgent }, { coreApi, CredentialStore, RegistrationSecret }] = await Promise.all([import('./agent.js'), import('./secret-store.js')]);
  const api = coreApi(config.kubernetes);
  const agent = new TunnelAgent({
    config,
    store: new CredentialStore(api, config.namespace, config.credentialSecret),
    registration: new RegistrationSecret(api, config.namespace, config.registrationSecret),
    log,
    agentVersion: version,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    setTimeout(() => {
      log.error('did not stop in time', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    agent.shutdown().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => fail(error),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info('starting', { tunnelUrl: config.tunnelUrl.origin, namespace: config.namespace, credentialSecret: config.credentialSecret, kubernetesApi: config.kubernetes.apiServer });
  await agent.run();
}

main().catch(fail);
