import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { serviceAccountToken } from '../src/secret-store.js';

describe("the service account's token for forwarded requests", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-agent-token-'));
  const file = join(dir, 'token');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is read from its file once, then again once it is older than the reread interval', () => {
    writeFileSync(file, 'first\n');
    let clock = 0;
    const token = serviceAccountToken(file, 10_000, () => clock);
    assert.equal(token(), 'first');
    writeFileSync(file, 'second'); // the kubelet rotated it
    clock = 9_999;
    assert.equal(token(), 'first', 'within the interval, the token read before');
    clock = 10_000;
    assert.equal(token(), 'second', 'after it, the file again');
    rmSync(file);
    clock = 15_000;
    assert.equal(token(), 'second', 'and not before the next interval');
    clock = 20_000;
    assert.throws(() => token(), /ENOENT/, 'a file gone is an error, not an old token kept forever');
  });
});
