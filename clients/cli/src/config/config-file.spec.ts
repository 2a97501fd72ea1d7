import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CliError, ExitCode } from '../errors.js';
import { configPath, contextNameFor, parseConfig, permissionWarning, readConfig, upsertContext, useContext, writeConfig } from './config-file.js';
import { resolveConnection } from './connection.js';

const directory = mkdtempSync(join(tmpdir(), 'flotilla-config-'));
after(() => rmSync(directory, { recursive: true, force: true }));

describe('the configuration file', () => {
  it('is $FLOTILLA_CONFIG, else ~/.flotilla/config.yaml', () => {
    assert.equal(configPath({ FLOTILLA_CONFIG: '/etc/f.yaml' }), '/etc/f.yaml');
    assert.match(configPath({}), /\/\.flotilla\/config\.yaml$/);
  });

  it('is written 0600 in a 0700 directory, and reads back what was written', () => {
    const path = join(directory, 'new', 'config.yaml');
    const config = useContext(upsertContext({ currentContext: null, contexts: [] }, { name: 'dev', server: 'https://localhost:8443', token: 't0k', caFile: '/ca.crt' }), 'dev');
    writeConfig(path, config);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(directory, 'new')).mode & 0o777, 0o700);
    assert.deepEqual(readConfig(path), config);
    assert.match(readFileSync(path, 'utf8'), /^apiVersion: flotilla.io\/v1\nkind: Config\ncurrentContext: dev/);
    assert.equal(permissionWarning(path), undefined);
  });

  it('warns when others can read it', () => {
    const path = join(directory, 'open.yaml');
    writeFileSync(path, 'contexts: []\n', { mode: 0o644 });
    assert.match(permissionWarning(path) ?? '', /readable by others \(mode 644\).*chmod 600/);
  });

  it('a missing file is an empty configuration', () => {
    assert.deepEqual(readConfig(join(directory, 'absent.yaml')), { currentContext: null, contexts: [] });
  });

  it('names the field that is wrong', () => {
    const problem = (document: unknown) => {
      try {
        parseConfig(document, 'f.yaml');
      } catch (error) {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, ExitCode.Usage);
        return error.message;
      }
      assert.fail('accepted');
    };
    assert.equal(problem({ contexts: [{ name: 'a' }] }), 'f.yaml: contexts[0].server: required');
    assert.equal(problem({ contexts: [{ name: 'a', server: 'https://x', token: 5 }] }), 'f.yaml: contexts[0].token: must be a non-empty string');
    assert.match(problem({ contexts: [{ name: 'a', server: 'https://x' }, { name: 'a', server: 'https://y' }] }), /two contexts are named "a"/);
    assert.equal(problem({ contexts: 'a' }), 'f.yaml: contexts must be a list');
  });

  it('replaces a context of the same name, and refuses to switch to an unknown one, listing the known', () => {
    const first = upsertContext({ currentContext: null, contexts: [] }, { name: 'b', server: 'https://b' });
    const both = upsertContext(upsertContext(first, { name: 'a', server: 'https://a' }), { name: 'b', server: 'https://b2' });
    assert.deepEqual(both.contexts, [
      { name: 'a', server: 'https://a' },
      { name: 'b', server: 'https://b2' },
    ]);
    assert.throws(() => useContext(both, 'c'), /no context named "c"; known: a, b/);
    assert.equal(contextNameFor('https://localhost:8443/'), 'localhost-8443');
  });
});

describe('resolveConnection', () => {
  const config = {
    currentContext: 'dev',
    contexts: [
      { name: 'dev', server: 'https://dev:8443', token: 'dev-token', caFile: '/dev-ca.crt', traceUrl: 'http://jaeger' },
      { name: 'prod', server: 'https://prod', token: 'prod-token' },
    ],
  };

  it('takes the current context', () => {
    const connection = resolveConnection({}, {}, config);
    assert.equal(connection.server.href, 'https://dev:8443/');
    assert.equal(connection.token, 'dev-token');
    assert.equal(connection.caFile, '/dev-ca.crt');
    assert.equal(connection.traceUrl, 'http://jaeger');
  });

  it('flags win over the environment, the environment over the context', () => {
    const env = { FLOTILLA_TOKEN: 'env-token', FLOTILLA_TRACE_URL: 'http://other' };
    assert.equal(resolveConnection({}, env, config).token, 'env-token');
    assert.equal(resolveConnection({ token: 'flag-token' }, env, config).token, 'flag-token');
    assert.equal(resolveConnection({ context: 'prod' }, {}, config).server.origin, 'https://prod');
    assert.equal(resolveConnection({}, env, config).traceUrl, 'http://other');
  });

  it('--server alone does not borrow the current context token', () => {
    const connection = resolveConnection({ server: 'https://elsewhere' }, {}, config);
    assert.equal(connection.token, undefined);
  });

  it('says what to do when nothing is configured, or the address is not a URL', () => {
    assert.throws(() => resolveConnection({}, {}, { currentContext: null, contexts: [] }), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.Unauthorized && /run flotilla login/.test(error.message));
    assert.throws(() => resolveConnection({ server: 'localhost:8443x' }, {}, config), /--server: must be an http or https URL/);
    assert.throws(() => resolveConnection({ context: 'nope' }, {}, config), /--context: no context named "nope"/);
  });
});
