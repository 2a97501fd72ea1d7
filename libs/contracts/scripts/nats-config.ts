/**
 * Prints (or writes) the nats-server configuration generated from the event catalogue for a bus
 * prefix. The default prefix's is committed as deploy/nats/flotilla-nats.conf by `npm run generate`.
 *
 *   node libs/contracts/dist/scripts/nats-config.js [--prefix <prefix>] [--out <file>]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_SUBJECT_PREFIX } from '../src/index.js';
import { natsConfigFile } from './generated-files.js';

const USAGE = 'usage: nats-config [--prefix <prefix>] [--out <file>]';

function main(args: string[]): number {
  let values: { prefix?: string; out?: string };
  try {
    ({ values } = parseArgs({ args, options: { prefix: { type: 'string' }, out: { type: 'string' } }, strict: true }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const prefix = values.prefix ?? DEFAULT_SUBJECT_PREFIX;
  // The services' BUS_PREFIX rule.
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) {
    console.error(`--prefix must be lower-case letters, digits and _ (got ${JSON.stringify(prefix)})`);
    return 2;
  }
  const config = natsConfigFile(prefix);
  if (values.out === undefined) process.stdout.write(config);
  else writeFileSync(values.out, config);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
