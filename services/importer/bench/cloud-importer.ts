// The importer as the cloud-provisioning benchmark runs it: its own process, started as main.ts
// starts it (runService, the same config, CLOUD_* pointing at the stand-ins, CLOUD_CA_FILE their
// CA). Two differences, both from the benchmark's scaled-down clock:
// - the managed reconciler's waits (poll, retry, throttle fallback) come from
//   BENCH_MANAGED_SETTINGS (JSON, fields of ManagedReconcilerSettings): its 15 s poll is sized
//   for creates of minutes, and the benchmark's creates take seconds;
// - the GKE lifecycle is added when this build's sdkLifecycles does not bind one yet.
import { runService } from '@flotilla/service-kit';
import { GkeLifecycle } from '../src/clouds/gke/gke-lifecycle.js';
import { cloudSettingsFrom } from '../src/clouds/settings.js';
import type { ImporterConfig } from '../src/config.js';
import { ImporterModule } from '../src/importer.module.js';
import { CloudLifecycles, sdkLifecycles } from '../src/managed/lifecycles.js';
import type { ManagedReconcilerSettings } from '../src/managed/managed-reconciler.js';
import { importerService } from '../src/service.js';

const managed = JSON.parse(process.env['BENCH_MANAGED_SETTINGS'] ?? '{}') as Partial<ManagedReconcilerSettings>;
for (const [field, value] of Object.entries(managed)) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`BENCH_MANAGED_SETTINGS.${field} must be a number >= 0`);
}

await runService({
  ...importerService,
  module: (config: ImporterConfig) => {
    const settings = cloudSettingsFrom(config);
    return ImporterModule.register(config, { managed, cloudLifecycles: new CloudLifecycles({ gke: new GkeLifecycle(settings), ...sdkLifecycles(settings) }) });
  },
});
