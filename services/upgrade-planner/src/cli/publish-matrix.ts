#!/usr/bin/env node
// Validates a support-matrix document and publishes it as a new revision to the bucket every
// upgrade-planner replica follows (the same rules as PUT /api/v1/support-matrix).
//
// Usage: node services/upgrade-planner/dist/src/cli/publish-matrix.js <file.json> [--check]
//   --check   validate only (parseSupportMatrix), without connecting to NATS
// Environment: NATS_URL, BUS_PREFIX, SUPPORT_MATRIX_BUCKET, SUPPORT_MATRIX_HISTORY, BUS_REPLICAS, BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS
// (the service's variables and defaults). Exit status: 0 published or already in force,
// 1 refused (every problem printed), 2 usage, configuration, file or NATS error.
import { readFile } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import { parseSupportMatrix, streamPlacement } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { ConfigError, loadConfig } from '@flotilla/service-kit';
import { supportMatrixBucket, UpgradePlannerConfig } from '../config.js';
import type { MatrixProblem } from '../domain/support-matrix-revision.js';
import { SupportMatrixStore } from '../planning/support-matrix.store.js';
import { SupportMatrixBucket } from '../repositories/support-matrix.bucket.js';

const CliConfig = UpgradePlannerConfig.pick({ NATS_URL: true, BUS_PREFIX: true, BUS_REPLICAS: true, BUS_PLACEMENT_CLUSTER: true, BUS_PLACEMENT_TAGS: true, SUPPORT_MATRIX_BUCKET: true, SUPPORT_MATRIX_HISTORY: true });

const USAGE = 'usage: publish-matrix <file.json> [--check]';

function refuse(file: string, problems: readonly MatrixProblem[]): number {
  process.stderr.write(`${file}: refused, ${problems.length} problem(s):\n${problems.map((p) => `  - ${p.field}: ${p.message} (${p.code})`).join('\n')}\n`);
  return 1;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes('--check');
  const files = args.filter((arg) => !arg.startsWith('--'));
  if (files.length !== 1 || args.some((arg) => arg.startsWith('--') && arg !== '--check')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = files[0]!;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) return refuse(file, [{ code: 'json-invalid', field: '(root)', message: `not JSON: ${error.message}` }]);
    process.stderr.write(`${file}: ${(error as Error).message}\n`);
    return 2;
  }

  const parsed = parseSupportMatrix(json);
  if (!parsed.ok) return refuse(file, parsed.issues.map((issue) => ({ code: issue.code, field: issue.path, message: issue.message })));
  if (check) {
    process.stdout.write(`${file}: valid support matrix, revision "${parsed.matrix.revision}"\n`);
    return 0;
  }

  const config = loadConfig(CliConfig);
  // The store logs for a service; here the outcome is printed instead.
  Logger.overrideLogger(false);
  const bus = await BusConnection.open(config.NATS_URL, 'upgrade-planner-publish-matrix');
  const bucket = new SupportMatrixBucket(bus, { bucket: supportMatrixBucket(config), history: config.SUPPORT_MATRIX_HISTORY, replicas: config.BUS_REPLICAS, placement: streamPlacement(config) });
  // The same store the service runs: it replays the bucket, so "revision unchanged" is judged
  // against the revision every replica has in force.
  const store = new SupportMatrixStore(bucket);
  try {
    await store.onModuleInit();
    const before = store.inForce().matrix.revision;
    const result = await store.publish(json);
    if (!result.ok) return refuse(file, result.problems);
    const { matrix, sequence } = result.inForce;
    process.stdout.write(
      result.unchanged
        ? `revision "${matrix.revision}" is already in force in bucket ${bucket.bucket}; nothing published\n`
        : `published support matrix revision "${matrix.revision}" to bucket ${bucket.bucket} (sequence ${sequence}; was "${before}")\n`,
    );
    return 0;
  } finally {
    await store.onModuleDestroy();
    await bus.drain();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(error instanceof ConfigError ? `publish-matrix: ${error.message}\n` : `publish-matrix: ${(error as Error).message ?? String(error)}\n`);
  process.exitCode = 2;
}
