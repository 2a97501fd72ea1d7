// The importer as the cloud-provisioning benchmark runs it: its own process, started as main.ts
// starts it (runService, the same config, CLOUD_* pointing at the stand-ins, CLOUD_CA_FILE their
// CA, the SDK lifecycles of every cloud). One difference, from the benchmark's scaled-down clock:
// the managed reconciler's waits (poll, retry, throttle fallback) come from BENCH_MANAGED_SETTINGS
// (JSON, fields of ManagedReconcilerSettings): its 15 s poll is sized for creates of minutes, and
// the benchmark's creates take seconds.
import { runService } from '@flotilla/service-kit';
import type { ImporterConfig } from '../src/config.js';
import { ImporterModule } from '../src/importer.module.js';
import type { ManagedReconcilerSettings } from '../src/managed/managed-reconciler.js';
import { importerService } from '../src/service.js';

const managed = JSON.parse(process.env['BENCH_MANAGED_SETTINGS'] ?? '{}') as Partial<ManagedReconcilerSettings>;
for (const [field, value] of Object.entries(managed)) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`BENCH_MANAGED_SETTINGS.${field} must be a number >= 0`);
}

await runService({ ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { managed }) });
