import { readFileSync } from 'node:fs';
import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { BusNaming, StreamPlacement } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { DataSource } from 'typeorm';
import { AuditTrail } from '../audit/audit-trail.js';
import { AuthBucket } from '../auth-bucket.js';
import type { AuthConfig } from '../config.js';
import { ServiceIdentity } from '../service-identity.js';
import { OidcVerifier } from '../verification/oidc-verifier.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import { AuthGuard } from './auth.guard.js';
import { RefusalInterceptor } from './refusal.interceptor.js';

export interface AuthModuleOptions {
  service: string;
  naming: BusNaming;
  config: AuthConfig;
  /** The authentication bucket's replicas and placement, when this service is first to make it. */
  replicas: number;
  placement?: StreamPlacement | undefined;
}

const AUTH_WATCH = Symbol('AuthWatch');

class AuthWatchCloser implements OnApplicationShutdown {
  constructor(@Inject(AUTH_WATCH) private readonly watch: { stop(): void }) {}

  onApplicationShutdown(): void {
    this.watch.stop();
  }
}

function oidcVerifier(config: AuthConfig): OidcVerifier | undefined {
  if (!config.OIDC_ISSUER_URL || !config.OIDC_AUDIENCE) return undefined;
  let ca: string | undefined;
  if (config.OIDC_CA_FILE) {
    try {
      ca = readFileSync(config.OIDC_CA_FILE, 'utf8');
    } catch (error) {
      throw new Error(`OIDC_CA_FILE: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return new OidcVerifier({
    issuer: config.OIDC_ISSUER_URL,
    audience: config.OIDC_AUDIENCE,
    groupsClaim: config.OIDC_GROUPS_CLAIM,
    grants: config.OIDC_GROUPS,
    clockToleranceS: config.AUTH_CLOCK_TOLERANCE_S,
    ...(ca ? { ca } : {}),
  });
}

/**
 * Authentication, authorisation and audit for a service's HTTP routes: the token verifier fed by
 * the authentication bucket, the guard on every route, and the audit trail. There is no switch
 * to turn it off. Also the service's own identity towards other services (`ServiceIdentity`).
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    return {
      module: AuthModule,
      providers: [
        { provide: AuthBucket, inject: [BusConnection], useFactory: (bus: BusConnection) => AuthBucket.open(bus.nc, options.naming, { replicas: options.replicas, placement: options.placement }) },
        { provide: TokenVerifier, useFactory: () => new TokenVerifier({ clockToleranceS: options.config.AUTH_CLOCK_TOLERANCE_S, ...withOidc(oidcVerifier(options.config)) }) },
        {
          provide: AUTH_WATCH,
          inject: [AuthBucket, TokenVerifier],
          // Resolves once the current keys and revocations are known: no request is judged before.
          useFactory: (bucket: AuthBucket, verifier: TokenVerifier) => bucket.watch((change) => verifier.apply(change)),
        },
        AuthWatchCloser,
        // Its key is published before the service serves anything; withdrawn before the bus closes.
        { provide: ServiceIdentity, inject: [AuthBucket], useFactory: (bucket: AuthBucket) => ServiceIdentity.start(bucket, options.service) },
        {
          provide: AuditTrail,
          inject: [DataSource, BusConnection],
          useFactory: (dataSource: DataSource, bus: BusConnection) => new AuditTrail(dataSource, bus, options.service, options.naming),
        },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: RefusalInterceptor },
      ],
      exports: [AuthBucket, TokenVerifier, AuditTrail, ServiceIdentity],
    };
  }
}

function withOidc(oidc: OidcVerifier | undefined): { oidc?: OidcVerifier } {
  return oidc ? { oidc } : {};
}
