import { X509Certificate } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AuditTrail } from '@flotilla/auth';
import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { AgentListener, type AgentListenerEvent, type AgentSession } from '@flotilla/tunnel';
import { AGENT_SETTINGS, SESSION_TIMING, type AgentSettings, type SessionTiming } from '../config.js';
import type { EndReason } from '../domain/tunnel-session.js';
import { EnrollmentRepository, type AgentCertificate } from '../enrollment/enrollment.repository.js';
import { renewalDue } from '../enrollment/registration.js';
import { BrokerCa } from '../pki/broker-ca.js';
import { listenerKey } from '../pki/certificates.js';
import { TunnelSessions } from '../sessions/tunnel-sessions.js';
import { sendControl } from './control.js';
import { hostAddress, ReplicaIdentity } from './replica.js';
import { SessionRegistry } from './session-registry.js';

const RENEWAL_CHECK_MS = 3_600_000;
/** The listener's own certificate: made at every start, for the name agents dial. */
const LISTENER_CERT_TTL_S = 365 * 86_400;
const REMOVED = 'the cluster was removed from Flotilla';

/** Why a connection ended, as the session keeps it. A stopping broker ends none: its agents move to another replica. */
function endReasonOf(reason: string): EndReason | undefined {
  if (reason === 'broker-stopping') return undefined;
  if (reason === 'cluster-removed') return 'cluster-deleted';
  return 'connection-lost';
}

/**
 * The agents' side of this replica: the mutual-TLS listener agents dial, their sessions (opened
 * and ended in the database, so TunnelConnected and TunnelDisconnected are said once per change
 * whichever replica holds an agent), the registry entry that sends requests for an agent here,
 * certificate renewal over the tunnel, and stopping the agent of a removed cluster.
 */
@Injectable()
export class AgentGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AgentGateway.name);
  private listener: AgentListener | undefined;
  /** Sessions this replica holds, by cluster. */
  private readonly held = new Map<string, { sessionId: string }>();
  /** What admission learnt of a certificate, for the session that follows. */
  private readonly admitted = new Map<string, AgentCertificate & { stop: boolean }>();
  /** Each cluster's changes in order: a connection that drops while it is being opened ends after it opened. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly keepalive: PeriodicTask;
  private readonly renewals: PeriodicTask;
  private stopWatch: { stop(): void } | undefined;
  private port = 0;

  constructor(
    @Inject(BrokerCa) private readonly ca: BrokerCa,
    @Inject(EnrollmentRepository) private readonly enrollment: EnrollmentRepository,
    @Inject(TunnelSessions) private readonly tunnels: TunnelSessions,
    @Inject(SessionRegistry) private readonly registry: SessionRegistry,
    @Inject(ReplicaIdentity) private readonly replica: ReplicaIdentity,
    @Inject(AGENT_SETTINGS) private readonly settings: AgentSettings,
    @Inject(SESSION_TIMING) timing: SessionTiming,
    @Inject(AuditTrail) private readonly audit: AuditTrail,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.keepalive = new PeriodicTask('tunnel session keepalive', timing.heartbeatIntervalMs, () => this.keepSessionsAlive(), this.logger);
    this.renewals = new PeriodicTask('agent certificate renewal', RENEWAL_CHECK_MS, () => this.renewDue(), this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    const authority = await this.ca.load();
    const host = this.settings.agentAddress?.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1') ?? hostAddress();
    const key = await listenerKey();
    const certificate = await authority.serverCertificate([host], key.publicKey, LISTENER_CERT_TTL_S, this.clock.now());
    this.listener = new AgentListener({
      cert: certificate.certificatePem,
      key: key.privateKeyPem,
      ca: authority.certificatePem,
      refuse: (clusterId, presented) => this.admit(clusterId, presented.serialNumber),
      keepaliveMs: this.settings.keepaliveMs,
      keepaliveTimeoutMs: this.settings.keepaliveTimeoutMs,
    });
    this.listener.on('change', (change) => this.onChange(change));
    this.port = await this.listener.listen(this.settings.port);
    this.stopWatch = await this.registry.watchStops((clusterId) => void this.stopAgent(clusterId));
    this.keepalive.start();
    this.renewals.start();
    this.logger.log({ msg: 'agents listener up', port: this.port, agentAddress: this.agentAddress, replicaId: this.replica.replicaId });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopWatch?.stop();
    await Promise.all([this.keepalive.stop(), this.renewals.stop()]);
    await this.listener?.close();
    await Promise.all([...this.queues.values()]);
  }

  /** The port this replica's listener took (TUNNEL_AGENT_PORT, or the one picked for 0). */
  get listeningPort(): number {
    return this.port;
  }

  /** Where agents dial: TUNNEL_AGENT_ADDRESS, else this host's address and the listener's port. */
  get agentAddress(): string {
    return this.settings.agentAddress ?? `${hostAddress()}:${this.port}`;
  }

  /** The live session of a cluster's agent on this replica. */
  session(clusterId: string): AgentSession | undefined {
    return this.listener?.session(clusterId);
  }

  /** Tells a removed cluster's agent to stop, and drops it. */
  async stopAgent(clusterId: string): Promise<void> {
    const entry = this.listener?.session(clusterId);
    if (!entry) return;
    try {
      const status = await sendControl(entry.session, 'POST', '/stop');
      this.logger.log({ msg: 'agent told to stop', clusterId, status });
    } catch (error) {
      this.logger.warn({ msg: 'agent did not take the stop command', clusterId, err: error });
    }
    this.listener?.disconnect(clusterId, 'cluster-removed');
  }

  /** The last word on a certificate the CA signed: known to this broker, not revoked. */
  private async admit(clusterId: string, serialNumber: string): Promise<string | undefined> {
    const found = await this.enrollment.admissible(serialNumber.toLowerCase());
    let refusal: string | undefined;
    if (!found) refusal = 'no agent certificate with this serial number was issued';
    else if (found.clusterId !== clusterId) refusal = 'the certificate was issued for another cluster';
    else if (found.refusal && found.refusal !== REMOVED) refusal = found.refusal;
    if (refusal || !found) {
      this.auditRefusal(clusterId, refusal ?? 'refused');
      return refusal ?? 'refused';
    }
    // A removed cluster's agent is let in only to be told to stop (it would otherwise retry forever).
    this.admitted.set(clusterId, { ...found, stop: found.refusal === REMOVED });
    return undefined;
  }

  private onChange(change: AgentListenerEvent): void {
    switch (change.kind) {
      case 'connected':
        return this.enqueue(change.clusterId, () => this.connected(change.clusterId, change.remoteAddress));
      case 'disconnected':
        return this.enqueue(change.clusterId, () => this.disconnected(change.clusterId, change.reason));
      case 'refused':
        // Handshakes that failed before any cluster was named (no certificate, another CA).
        if (change.clusterId === undefined) this.auditRefusal(undefined, `TLS handshake refused from ${change.remoteAddress ?? 'unknown address'}: ${change.reason}`);
        return;
    }
  }

  private enqueue(clusterId: string, work: () => Promise<void>): void {
    const next = (this.queues.get(clusterId) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => this.logger.error({ msg: 'tunnel session change failed', clusterId, err: error }));
    this.queues.set(clusterId, next);
    void next.finally(() => {
      if (this.queues.get(clusterId) === next) this.queues.delete(clusterId);
    });
  }

  private async connected(clusterId: string, remoteAddress: string | undefined): Promise<void> {
    const admitted = this.admitted.get(clusterId);
    this.admitted.delete(clusterId);
    if (!admitted) return;
    if (admitted.stop) return this.stopAgent(clusterId);
    const session = await this.tunnels.open({ clusterId, agentId: admitted.agentId, agentVersion: admitted.agentVersion, remoteAddress: remoteAddress ?? null, replicaId: this.replica.replicaId });
    this.held.set(clusterId, { sessionId: session.id });
    await this.registry.claim(clusterId, { replicaId: this.replica.replicaId, url: this.replica.url, since: session.openedAt });
    this.logger.log({ msg: 'agent connected', clusterId, agentId: admitted.agentId, remoteAddress });
    await this.renewIfDue(clusterId);
  }

  private async disconnected(clusterId: string, reason: string): Promise<void> {
    const held = this.held.get(clusterId);
    this.held.delete(clusterId);
    if (!held) return;
    await this.registry.release(clusterId, this.replica.replicaId);
    const endReason = endReasonOf(reason);
    if (endReason) await this.tunnels.close(clusterId, held.sessionId, endReason);
    this.logger.log({ msg: 'agent disconnected', clusterId, reason });
  }

  private async keepSessionsAlive(): Promise<number> {
    return this.held.size > 0 ? this.tunnels.keepAlive(this.replica.replicaId) : 0;
  }

  private async renewDue(): Promise<number> {
    let renewed = 0;
    for (const clusterId of [...this.held.keys()]) if (await this.renewIfDue(clusterId)) renewed++;
    return renewed;
  }

  /** Past two thirds of its life, an agent's certificate is renewed for the same key, over its tunnel. */
  private async renewIfDue(clusterId: string): Promise<boolean> {
    const entry = this.listener?.session(clusterId);
    if (!entry) return false;
    const current = new X509Certificate(entry.certificate.raw);
    const now = this.clock.now();
    if (!renewalDue(new Date(current.validFrom), new Date(current.validTo), now)) return false;
    const authority = await this.ca.load();
    const renewed = await authority.renewAgentCertificate(entry.certificate.raw, clusterId, this.settings.certificateTtlS, now);
    await this.enrollment.addRenewal(current.serialNumber.toLowerCase(), { serialNumber: renewed.serialNumber, notAfter: renewed.notAfter.toISOString(), issuedAt: now });
    try {
      const status = await sendControl(entry.session, 'PUT', '/certificate', renewed.certificatePem);
      this.logger.log({ msg: 'agent certificate renewed', clusterId, serialNumber: renewed.serialNumber, notAfter: renewed.notAfter.toISOString(), status });
      return status === 204;
    } catch (error) {
      this.logger.warn({ msg: 'renewed certificate not delivered; tried again later', clusterId, err: error });
      return false;
    }
  }

  private auditRefusal(clusterId: string | undefined, reason: string): void {
    void this.audit.recordRequest({
      principal: { subject: clusterId ? `agent:${clusterId}` : 'anonymous' },
      method: 'CONNECT',
      route: 'tunnel-agent-listener',
      ...(clusterId ? { clusterId } : {}),
      status: 403,
      reason,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
    });
  }
}
