import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { buildProgram } from '../program.js';
import { bashCompletion } from './completion.js';

/** What bash offers after `words` (the last one being completed), with the script loaded. */
function complete(script: string, words: string[]): string[] {
  const line = ['flotilla', ...words];
  const program = `${script}\nCOMP_WORDS=(${line.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _flotilla; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

describe('completion bash', () => {
  const script = bashCompletion(buildProgram());

  it('completes commands, subcommands and their flags, skipping flag values and arguments', () => {
    assert.deepEqual(complete(script, ['sc']), ['scale']);
    assert.deepEqual(complete(script, ['get', '']).filter((word) => !word.startsWith('-')), ['clusters', 'cluster']);
    assert.ok(complete(script, ['--server', 'https://x', 'get', 'clusters', '--mo']).includes('--model'));
    assert.ok(complete(script, ['scale', 'cluster', 'prod-1', '--re']).includes('--replicas'));
    assert.deepEqual(complete(script, ['completion', '']).filter((word) => !word.startsWith('-')), []);
  });
});
