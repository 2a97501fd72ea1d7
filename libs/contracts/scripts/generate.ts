/**
 * Writes the files derived from the event catalogue: schemas/<type>.json, asyncapi.yaml and the
 * event table of README.md.
 *
 *   node dist/scripts/generate.js            regenerate
 *   node dist/scripts/generate.js --check    fail, naming each file, if committed files are stale
 *   node dist/scripts/generate.js --release  regenerate, then add to the released baseline
 *                                            (compat/released); refuses incompatible changes
 */
import { join, relative } from 'node:path';
import { formatBreaks } from '../src/index.js';
import { findStaleFiles, renderGeneratedFiles, writeGeneratedFiles } from './generated-files.js';
import { findPackageRoot } from './paths.js';
import { release, RELEASED_DIR } from './release.js';

const USAGE = 'usage: generate [--check | --release]';

function main(args: readonly string[]): number {
  const unknown = args.filter((arg) => arg !== '--check' && arg !== '--release');
  const check = args.includes('--check');
  const doRelease = args.includes('--release');
  if (unknown.length > 0 || (check && doRelease)) {
    console.error(USAGE);
    return 2;
  }

  const root = findPackageRoot();
  const shown = (path: string) => relative(process.cwd(), join(root, path)) || path;
  const files = renderGeneratedFiles(root);

  if (check) {
    const stale = findStaleFiles(root, files);
    for (const { path, problem } of stale) {
      const why = problem === 'missing' ? 'missing' : problem === 'orphan' ? 'no event generates it any more' : 'differs from the catalogue';
      console.error(`stale: ${shown(path)} (${why})`);
    }
    if (stale.length > 0) {
      console.error(`${stale.length} generated file(s) are stale: run \`npm run generate\` and commit the result.`);
      return 1;
    }
    console.log(`generated files are up to date (${files.length} files)`);
    return 0;
  }

  const touched = writeGeneratedFiles(root, files);
  for (const path of touched) console.log(`wrote ${shown(path)}`);
  console.log(touched.length === 0 ? 'generated files were already up to date' : `${touched.length} file(s) updated`);
  if (!doRelease) return 0;

  const { check: result, written } = release(root);
  if (result.incompatible.length > 0 || result.withdrawn.length > 0) {
    for (const { type, breaks } of result.incompatible) {
      console.error(`refused: ${type} changed incompatibly with its released schema:`);
      console.error(indent(formatBreaks(breaks)));
    }
    for (const type of result.withdrawn) {
      console.error(`refused: released type ${type} is no longer in the catalogue; consumers and publishers of it still exist.`);
    }
    console.error(
      'Nothing was released. Publish an incompatible change as a new event version (bump `version` in defineEvent). ' +
        `Delete a file under ${RELEASED_DIR} only when that type is retired on purpose.`,
    );
    return 1;
  }
  for (const path of written) console.log(`released ${shown(path)}`);
  console.log(written.length === 0 ? 'released baseline already matches the catalogue' : `${written.length} type(s) released`);
  return 0;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

process.exitCode = main(process.argv.slice(2));
