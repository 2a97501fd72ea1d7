import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger.js';
import { PinoNestLogger } from './nest-logger.js';

type Line = Record<string, unknown> & { err?: Record<string, unknown> };

function nestLogger(level = 'trace'): { nest: PinoNestLogger; lines: Line[]; pinoLevel: () => string } {
  const lines: Line[] = [];
  const logger = createLogger({ name: 'inventory', level, destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
  return { nest: new PinoNestLogger(logger), lines, pinoLevel: () => logger.level };
}

const STACK = 'Error: boom\n    at ClustersController.create (/app/dist/clusters.controller.js:10:11)';

describe('PinoNestLogger', () => {
  it('maps Nest levels to pino levels and the trailing string to context', () => {
    const { nest, lines } = nestLogger();
    nest.log('Mapped {/clusters, POST} route', 'RouterExplorer');
    nest.warn('slow', 'Planner');
    nest.debug('detail', 'Planner');
    nest.verbose('chatter', 'Planner');
    nest.fatal('dying', 'Main');
    assert.deepEqual(
      lines.map((line) => [line.level, line.msg, line.context, line.service]),
      [
        ['info', 'Mapped {/clusters, POST} route', 'RouterExplorer', 'inventory'],
        ['warn', 'slow', 'Planner', 'inventory'],
        ['debug', 'detail', 'Planner', 'inventory'],
        ['trace', 'chatter', 'Planner', 'inventory'],
        ['fatal', 'dying', 'Main', 'inventory'],
      ],
    );
  });

  it('reads error(message, stack, context) the way Nest calls it', () => {
    const { nest, lines } = nestLogger();
    nest.error('boom', STACK, 'ExceptionsHandler');
    nest.error('boom', STACK);
    nest.error('no stack here', 'Importer');
    nest.error('detail that is not stack-shaped', 'some detail', 'Importer');

    assert.deepEqual(lines[0]?.err, { type: 'Error', message: 'boom', stack: STACK });
    assert.equal(lines[0]?.context, 'ExceptionsHandler');
    assert.equal(lines[0]?.msg, 'boom');

    assert.deepEqual(lines[1]?.err, { type: 'Error', message: 'boom', stack: STACK });
    assert.equal(lines[1]?.context, undefined);

    assert.equal(lines[2]?.err, undefined);
    assert.equal(lines[2]?.context, 'Importer');

    assert.deepEqual(lines[3]?.err, { type: 'Error', message: 'detail that is not stack-shaped', stack: 'some detail' });
    assert.equal(lines[3]?.context, 'Importer');
  });

  it('serializes Error messages and keeps structured messages structured', () => {
    const { nest, lines } = nestLogger();
    nest.error(new Error('connection refused'), 'Bus');
    nest.log({ msg: 'cluster ready', clusterId: 'c-1', password: 'hunter2' }, 'Provisioner');
    nest.log('with params', { attempt: 2 }, 'Provisioner');
    nest.log(42);

    assert.equal(lines[0]?.msg, 'connection refused');
    assert.equal(lines[0]?.err?.type, 'Error');
    assert.match(String(lines[0]?.err?.stack), /connection refused/);
    assert.equal(lines[0]?.context, 'Bus');

    assert.equal(lines[1]?.msg, 'cluster ready');
    assert.equal(lines[1]?.clusterId, 'c-1');
    assert.equal(lines[1]?.password, '[Redacted]');
    assert.equal(lines[1]?.context, 'Provisioner');

    assert.equal(lines[2]?.attempt, 2);
    assert.equal(lines[2]?.context, 'Provisioner');

    assert.equal(lines[3]?.msg, '42');
  });

  it('setLogLevels keeps the most verbose level asked for; none silences', () => {
    const { nest, lines, pinoLevel } = nestLogger('info');
    nest.debug('hidden');
    nest.setLogLevels(['error', 'warn', 'debug']);
    assert.equal(pinoLevel(), 'debug');
    nest.debug('shown');
    nest.verbose('hidden');
    nest.setLogLevels([]);
    assert.equal(pinoLevel(), 'silent');
    nest.error('hidden');
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['shown'],
    );
  });
});
