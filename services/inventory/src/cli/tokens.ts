// Issues a token from the inventory's own database and key ring, for when no admin token exists
// yet (the first start) or none is at hand: whoever can read SECRETS_KEYS and reach the
// database is an admin already. Prints only the token on stdout.
//
//   node dist/src/cli/tokens.js create --subject NAME --role viewer|operator|admin [--expires-in 90d] [--label key=value ...]
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditTrail, isRole } from '@flotilla/auth';
import { SecretsModule, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { ConfigError, loadConfig, ServiceKitModule } from '@flotilla/service-kit';
import { InventoryConfig } from '../config.js';
import { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import { ClusterEntity } from '../entities/cluster.entity.js';
import { InventoryTables1732300001000 } from '../migrations/1732300001000-inventory-tables.js';
import { ClusterLabelsTokensAudit1732300007100 } from '../migrations/1732300007100-cluster-labels-tokens-audit.js';
import { TokenIssuer } from '../tokens/token-issuer.js';
import { Lifetime } from '../tokens/token-requests.js';

const USAGE = 'usage: tokens create --subject NAME --role viewer|operator|admin [--expires-in 90d] [--label key=value ...] [--description TEXT]';

@Module({})
class TokenCliModule {
  static register(config: InventoryConfig): DynamicModule {
    return {
      module: TokenCliModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'inventory',
          config,
          migrations: [InventoryTables1732300001000, ...secretsMigrations, ClusterLabelsTokensAudit1732300007100],
          entities: [ClusterEntity, ClusterEventEntity, ...secretsEntities],
        }),
        SecretsModule.forRoot({ keys: config.SECRETS_KEYS }),
      ],
      providers: [TokenIssuer],
    };
  }
}

function fail(message: string, code = 2): never {
  process.stderr.write(`tokens: ${message}\n`);
  process.exit(code);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    subject: { type: 'string' },
    role: { type: 'string' },
    'expires-in': { type: 'string', default: '90d' },
    label: { type: 'string', multiple: true, default: [] },
    description: { type: 'string' },
  },
});
if (positionals[0] !== 'create' || positionals.length !== 1) fail(USAGE);
if (!values.subject) fail(`--subject is required\n${USAGE}`);
if (!isRole(values.role)) fail(`--role must be viewer, operator or admin\n${USAGE}`);
const lifetime = Lifetime.safeParse(values['expires-in']);
if (!lifetime.success) fail(`--expires-in ${lifetime.error.issues[0]?.message ?? 'is invalid'}`);
const labels: Record<string, string> = {};
for (const pair of values.label) {
  const [key, value, extra] = pair.split('=');
  if (!key || value === undefined || extra !== undefined) fail(`--label "${pair}" must be key=value`);
  labels[key] = value;
}

let config: InventoryConfig;
try {
  config = loadConfig(InventoryConfig);
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error), 78);
}

const app = await NestFactory.createApplicationContext(TokenCliModule.register(config), { logger: false, abortOnError: false });
try {
  const { token, description } = await app.get(TokenIssuer).issue(
    { subject: values.subject, role: values.role, lifetimeMs: lifetime.data, ...(Object.keys(labels).length ? { scope: { labels } } : {}), description: values.description ?? 'issued with the tokens command' },
    'tokens-command',
  );
  // Not through the API, so recorded here: who got which token, never the token.
  const audit = app.get(AuditTrail);
  await audit.recordUse({ what: 'token-signing-key', subject: 'tokens-command', ok: true, reason: `issued token ${description.id} to ${description.subject} as ${description.role}` });
  await audit.settled();
  process.stdout.write(`${token}\n`);
} catch (error) {
  process.stderr.write(`tokens: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await app.close();
}
