import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, loadConfig, serviceConfigSchema } from './config.js';

describe('service configuration', () => {
  const schema = serviceConfigSchema(8080, { PLATFORM_RELEASE: z.string().regex(/^\d+\.\d+$/).default('4.3') });

  it('applies defaults when nothing is set (empty counts as unset)', () => {
    const config = loadConfig(schema, { PORT: '' });
    assert.equal(config.PORT, 8080);
    assert.equal(config.NATS_URL, 'nats://127.0.0.1:4222');
    assert.equal(config.BUS_PREFIX, 'flotilla');
    assert.equal(config.PLATFORM_RELEASE, '4.3');
  });

  it('reports every bad variable at once, each by name with the value given', () => {
    assert.throws(
      () => loadConfig(schema, { PORT: '99999', NATS_URL: 'http://nats', DATABASE_URL: 'not a url', BUS_PREFIX: 'Bad-Prefix', PLATFORM_RELEASE: 'latest' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const names = error.problems.map((problem) => problem.split(':')[0]).sort();
        assert.deepEqual(names, ['BUS_PREFIX', 'DATABASE_URL', 'NATS_URL', 'PLATFORM_RELEASE', 'PORT']);
        assert.match(error.message, /PORT: .*\(got "99999"\)/);
        return true;
      },
    );
  });

  it('sizes the bus consumers against the connection pool, naming the variable that does not fit', () => {
    const config = loadConfig(schema, {});
    assert.deepEqual([config.DATABASE_POOL_SIZE, config.BUS_LANES, config.BUS_MAX_CONCURRENT_BATCHES], [10, 4, 6]);
    assert.equal(loadConfig(schema, { DATABASE_POOL_SIZE: '40', BUS_MAX_CONCURRENT_BATCHES: '32' }).BUS_MAX_CONCURRENT_BATCHES, 32);
    assert.throws(
      () => loadConfig(schema, { BUS_MAX_CONCURRENT_BATCHES: '10' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, ['BUS_MAX_CONCURRENT_BATCHES: 10 must be below DATABASE_POOL_SIZE (10): the outbox relay and HTTP requests need connections too (got "10")']);
        return true;
      },
    );
    // With other problems too, and with the default concurrency against a small pool.
    assert.throws(
      () => loadConfig(schema, { PORT: 'x', DATABASE_POOL_SIZE: '4' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((problem) => problem.split(':')[0]), ['PORT', 'BUS_MAX_CONCURRENT_BATCHES']);
        assert.match(error.message, /BUS_MAX_CONCURRENT_BATCHES: 6 must be below DATABASE_POOL_SIZE \(4\).*\(not set\)/);
        return true;
      },
    );
  });

  it('bounds database sessions and handler transactions, naming the variable of a bad bound', () => {
    const config = loadConfig(schema, {});
    assert.deepEqual(
      [config.DATABASE_STATEMENT_TIMEOUT_MS, config.DATABASE_LOCK_TIMEOUT_MS, config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, config.BUS_HANDLER_TIMEOUT_MS],
      [30_000, 10_000, 60_000, 20_000],
    );
    assert.throws(
      () => loadConfig(schema, { DATABASE_STATEMENT_TIMEOUT_MS: '0', DATABASE_LOCK_TIMEOUT_MS: 'soon', BUS_HANDLER_TIMEOUT_MS: '60000' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((problem) => problem.split(':')[0]).sort(), ['BUS_HANDLER_TIMEOUT_MS', 'DATABASE_LOCK_TIMEOUT_MS', 'DATABASE_STATEMENT_TIMEOUT_MS']);
        return true;
      },
    );
  });

  it('never repeats the value of a sensitive variable', () => {
    const secretive = serviceConfigSchema(8080, { SECRETS_KEYS: z.string().regex(/^\w+:[A-Za-z0-9+/=]{44}$/) });
    assert.throws(
      () => loadConfig(secretive, { SECRETS_KEYS: 'k1:hunter2-not-base64', DATABASE_URL: 'postgres://app:s3cret@db' + ' bad' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SECRETS_KEYS: .*\(value not shown\)/);
        assert.match(error.message, /DATABASE_URL: .*\(value not shown\)/);
        assert.doesNotMatch(error.message, /hunter2|s3cret/);
        return true;
      },
    );
  });

  it('reads the stream placement, and stops on a bad one naming the variable and the value', () => {
    const config = loadConfig(schema, { BUS_PLACEMENT_CLUSTER: 'east', BUS_PLACEMENT_TAGS: 'az:1, ssd' });
    assert.equal(config.BUS_PLACEMENT_CLUSTER, 'east');
    assert.deepEqual(config.BUS_PLACEMENT_TAGS, ['az:1', 'ssd']);
    assert.equal(loadConfig(schema, {}).BUS_PLACEMENT_TAGS, undefined);
    assert.throws(
      () => loadConfig(schema, { BUS_PLACEMENT_CLUSTER: 'east west', BUS_PLACEMENT_TAGS: 'ssd,,az:1' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          'BUS_PLACEMENT_CLUSTER: must be a NATS cluster name: letters, digits and _ . : = / - (no spaces or wildcards) (got "east west")',
          'BUS_PLACEMENT_TAGS: must be tags separated by commas, none empty (got "ssd,,az:1")',
        ]);
        return true;
      },
    );
  });

  it('accepts several NATS servers', () => {
    assert.equal(loadConfig(schema, { NATS_URL: 'nats://a:4222, nats://b:4222' }).NATS_URL, 'nats://a:4222, nats://b:4222');
  });
});
