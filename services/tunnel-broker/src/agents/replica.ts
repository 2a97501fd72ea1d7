import { randomUUID } from 'node:crypto';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

export const REPLICA_URL = Symbol('ReplicaUrl');

/** This broker replica: its id in the session registry and the URL the other replicas forward to. */
@Injectable()
export class ReplicaIdentity {
  readonly replicaId = randomUUID();

  constructor(
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
    @Inject(REPLICA_URL) private readonly configured: string | undefined,
  ) {}

  /** TUNNEL_REPLICA_URL, else this host's first external address and the port the API listens on. */
  get url(): string {
    if (this.configured) return this.configured;
    const server = this.http.httpAdapter.getHttpServer() as Server;
    const { port } = server.address() as AddressInfo;
    return `${server instanceof HttpsServer ? 'https' : 'http'}://${hostAddress()}:${port}`;
  }
}

/** This host's first external IPv4 address (a pod's address in Kubernetes). */
export function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}
