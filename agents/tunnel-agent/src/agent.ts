import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentLink, type AgentLinkOptions, type BackoffPolicy, DEFAULT_BACKOFF, KUBERNETES_AUTHORITY, kubernetesForwarder, reconnectDelay } from '@flotilla/tunnel';
import { callerRefusal, refuseCaller } from './callers.js';
import { type AgentConfig, ConfigError } from './config.js';
import { CONTROL_AUTHORITY, controlHandler, unknownAuthority } from './control.js';
import { certificateProblem, certificateSummary, type Credential, newKeyAndRequest, parseTunnelAddress, sha256Hex } from './credential.js';
import { enroll as enrollOverHttps, type Enrolled, type EnrollmentRequest, EnrollmentRejectedError, TokenRefusedError } from './enrollment.js';
import type { Log } from './log.js';
import { type CredentialStore, type RegistrationSecret, serviceAccountToken } from './secret-store.js';

export interface AgentTiming {
  /** Between failed enrollments (network, 5xx) and failed reads or writes of the Secret. */
  backoff: BackoffPolicy;
  /** After Flotilla refused the token or the request: only a person can fix that, so slowly. */
  refusedRetryMs: number;
  /** The link's reconnections. */
  linkBackoff: BackoffPolicy;
  keepaliveMs: number | undefined;
  keepaliveTimeoutMs: number | undefined;
}

export const DEFAULT_TIMING: AgentTiming = { backoff: { initialMs: 1_000, maxMs: 60_000 }, refusedRetryMs: 5 * 60_000, linkBackoff: DEFAULT_BACKOFF, keepaliveMs: undefined, keepaliveTimeoutMs: undefined };

export interface TunnelAgentOptions {
  config: AgentConfig;
  store: CredentialStore;
  registration: RegistrationSecret;
  log: Log;
  agentVersion: string;
  timing?: Partial<AgentTiming>;
  /** The enrollment call (Flotilla's HTTPS API by default). */
  enroll?: (request: EnrollmentRequest) => Promise<Enrolled>;
}

export type AgentState = 'starting' | 'enrolling' | 'dialing' | 'connected' | 'idle' | 'shut-down';

const TOKEN_HINTS: Record<string, string> = {
  'token-unknown': 'Flotilla does not know this token: check that FLOTILLA_TUNNEL_URL is the Flotilla that issued it, or create a new registration in Flotilla and apply its manifest',
  'token-used': 'the token was used already and this agent holds no credential: create a new registration in Flotilla and apply its manifest',
  'token-expired': 'the token expired: create a new registration in Flotilla and apply its manifest',
  'token-revoked': 'the registration was revoked: create a new registration in Flotilla and apply its manifest',
};

/**
 * The agent's life: read its credential Secret; with a credential, dial; with none, make a key,
 * enroll it with the registration token and keep what comes back, then dial; once its cluster
 * was removed from Flotilla ("stopped"), stay idle without dialing (a crash loop would help no
 * one). On the tunnel it serves the cluster's API server and the broker's commands.
 */
export class TunnelAgent extends EventEmitter<{ state: [AgentState] }> {
  private readonly timing: AgentTiming;
  private readonly closing = new AbortController();
  private current: AgentState = 'starting';
  private credential: Credential | undefined;
  private link: AgentLink | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TunnelAgentOptions) {
    super();
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
  }

  get state(): AgentState {
    return this.current;
  }

  /** Resolves once the agent dials or idles; ConfigError when it holds no credential and was given no token. */
  async run(): Promise<void> {
    const { config, log } = this.options;
    const read = await this.retrying('the credential Secret could not be read', () => this.options.store.read());
    if (read === undefined) return;
    const stored = read.value;
    const token = config.registrationToken;
    const tokenSha256 = token ? sha256Hex(token) : undefined;
    switch (stored.kind) {
      case 'enrolled':
        if (stored.credential.clusterId === config.clusterId) return this.dial(stored.credential);
        if (token && tokenSha256 !== stored.credential.tokenSha256) return this.enrollThenDial(token);
        log.error('the credential Secret holds the credential of another cluster: the agent stays idle', { secret: this.options.store.name, storedClusterId: stored.credential.clusterId, action: 'apply the manifest of a registration of this cluster' });
        return this.idle();
      case 'stopped':
        if (token && tokenSha256 !== stored.tokenSha256) {
          log.info('this cluster was removed from Flotilla before; a new registration token came: enrolling again', { stoppedAt: stored.stoppedAt });
          return this.enrollThenDial(token);
        }
        log.warn('this cluster was removed from Flotilla: the agent stays idle and does not dial', { stoppedAt: stored.stoppedAt, action: 'to connect the cluster again, create a new registration in Flotilla and apply its manifest' });
        return this.idle();
      case 'none':
        if (!token) throw new ConfigError([{ variable: 'FLOTILLA_REGISTRATION_TOKEN', problem: 'is missing, and the agent holds no credential yet: apply the manifest of a registration (it carries the token)' }]);
        return this.enrollThenDial(token);
    }
  }

  /** Closes the link and every wait (SIGTERM). */
  async shutdown(): Promise<void> {
    this.closing.abort();
    clearInterval(this.idleTimer);
    const link = this.link;
    this.link = undefined;
    await link?.stop();
    this.setState('shut-down');
  }

  private async enrollThenDial(token: string): Promise<void> {
    const { config, log } = this.options;
    this.setState('enrolling');
    const { key, csr } = await newKeyAndRequest(config.clusterId);
    const request: EnrollmentRequest = { tunnelUrl: config.tunnelUrl, ca: config.tunnelCa, token, csr, agentId: config.agentId, agentVersion: this.options.agentVersion };
    let credential: Credential | undefined;
    for (let attempt = 0; credential === undefined; attempt++) {
      if (this.closing.signal.aborted) return;
      try {
        const enrolled = await (this.options.enroll ?? enrollOverHttps)(request);
        const problem = enrolled.clusterId !== config.clusterId ? `names cluster ${enrolled.clusterId}, not ${config.clusterId} (FLOTILLA_CLUSTER_ID)` : certificateProblem(enrolled.certificate, key, config.clusterId, enrolled.caCertificate);
        if (problem) {
          log.error('the enrollment answer cannot be used', { reason: `the certificate ${problem}`, retryInMs: this.timing.refusedRetryMs });
          await this.wait(this.timing.refusedRetryMs);
          continue;
        }
        credential = { clusterId: config.clusterId, key, certificate: enrolled.certificate, caCertificate: enrolled.caCertificate, tunnelAddress: enrolled.tunnelAddress, tokenSha256: sha256Hex(token) };
        log.info('enrolled', { ...certificateSummary(enrolled.certificate), tunnelAddress: enrolled.tunnelAddress });
      } catch (error) {
        if (error instanceof TokenRefusedError) {
          log.error('Flotilla refused the registration token', { status: error.status, code: error.code, action: TOKEN_HINTS[error.code] ?? TOKEN_HINTS['token-used'], retryInMs: this.timing.refusedRetryMs });
          await this.wait(this.timing.refusedRetryMs);
        } else if (error instanceof EnrollmentRejectedError) {
          log.error('Flotilla refused the enrollment', { status: error.status, reason: error.message, retryInMs: this.timing.refusedRetryMs });
          await this.wait(this.timing.refusedRetryMs);
        } else {
          const delayMs = reconnectDelay(attempt, this.timing.backoff);
          log.warn('retrying', { what: 'enrollment', reason: (error as Error).message, attempt: attempt + 1, delayMs });
          await this.wait(delayMs);
        }
      }
    }
    if ((await this.retrying('the credential could not be stored', () => this.options.store.saveCredential(credential))) === undefined) return;
    // The used token is worthless, but better gone from the cluster.
    this.options.registration.removeToken().then(
      (removed) => removed && log.info('the used registration token was removed from its Secret', { secret: this.options.registration.name }),
      (error: Error) => log.warn('the used registration token stays in its Secret', { secret: this.options.registration.name, reason: error.message }),
    );
    this.dial(credential);
  }

  private dial(credential: Credential): void {
    const { config, log } = this.options;
    if (this.closing.signal.aborted) return;
    const address = parseTunnelAddress(credential.tunnelAddress);
    if (!address) {
      log.error('the stored tunnel address is not host:port: the agent stays idle', { tunnelAddress: credential.tunnelAddress, action: `delete the Secret's data and apply a new registration's manifest` });
      return this.idle();
    }
    this.credential = credential;
    const forward = kubernetesForwarder({ apiServer: config.kubernetes.apiServer, token: serviceAccountToken(config.kubernetes.tokenFile), ca: config.kubernetes.ca });
    const control = controlHandler({
      renewCertificate: (pem) => this.renewCertificate(pem),
      stop: () => this.options.store.markStopped(config.clusterId, this.credential?.tokenSha256),
      afterStop: () => void this.stopped(),
    });
    const held = () => {
      if (!this.credential) throw new Error('the agent holds no credential');
      return this.credential;
    };
    // Read at every dial, so a renewed certificate is used from the next connection on.
    const linkOptions: AgentLinkOptions = {
      host: address.host,
      port: address.port,
      get cert() {
        return held().certificate;
      },
      get key() {
        return held().key;
      },
      get ca() {
        return held().caCertificate;
      },
      onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
        const authority = String(headers[':authority'] ?? '').toLowerCase();
        if (authority === KUBERNETES_AUTHORITY) {
          const refusal = callerRefusal(headers);
          if (refusal) refuseCaller(stream, refusal);
          else forward(stream, headers);
        }
        else if (authority === CONTROL_AUTHORITY) control(stream, headers);
        else unknownAuthority(stream, headers);
      },
      backoff: this.timing.linkBackoff,
      ...(this.timing.keepaliveMs !== undefined ? { keepaliveMs: this.timing.keepaliveMs } : {}),
      ...(this.timing.keepaliveTimeoutMs !== undefined ? { keepaliveTimeoutMs: this.timing.keepaliveTimeoutMs } : {}),
    };
    const link = new AgentLink(linkOptions);
    link.on('change', (event) => {
      switch (event.kind) {
        case 'connected':
          this.setState('connected');
          log.info('connected', { tunnelAddress: credential.tunnelAddress });
          break;
        case 'disconnected':
          if (this.link === link) this.setState('dialing');
          log.warn('disconnected', { reason: event.reason });
          break;
        case 'retrying':
          log.info('retrying', { what: 'tunnel', attempt: event.attempt, delayMs: event.delayMs });
          break;
      }
    });
    this.link = link;
    this.setState('dialing');
    log.info('dialing', { tunnelAddress: credential.tunnelAddress, ...certificateSummary(credential.certificate) });
    link.start();
  }

  private async renewCertificate(pem: string): Promise<{ refused: string } | undefined> {
    const { config, log } = this.options;
    const credential = this.credential;
    if (!credential) return { refused: 'has no credential to renew: the agent was stopped' };
    const certificate = `${pem.trim()}\n`;
    const problem = certificateProblem(certificate, credential.key, config.clusterId, credential.caCertificate);
    if (problem) {
      log.warn('a renewed certificate was refused', { reason: `the certificate ${problem}` });
      return { refused: problem };
    }
    await this.options.store.saveCertificate(certificate);
    if (this.credential === credential) this.credential = { ...credential, certificate };
    log.info('certificate renewed: used from the next connection on', certificateSummary(certificate));
    return undefined;
  }

  /** The stop command was stored and answered: the link goes, the credential is forgotten. */
  private async stopped(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await link?.stop();
    this.credential = undefined;
    this.options.log.warn('stopped: this cluster was removed from Flotilla; the agent forgot its credential and stays idle', { action: 'to connect the cluster again, create a new registration in Flotilla and apply its manifest' });
    this.idle();
  }

  private idle(): void {
    if (this.closing.signal.aborted) return;
    // Something must keep the process alive while it waits for nothing but SIGTERM.
    this.idleTimer ??= setInterval(() => undefined, 1 << 30);
    this.setState('idle');
  }

  /** Runs `action` until it succeeds, waiting between attempts; undefined when the agent shuts down meanwhile. */
  private async retrying<T>(what: string, action: () => Promise<T>): Promise<{ value: T } | undefined> {
    for (let attempt = 0; !this.closing.signal.aborted; attempt++) {
      try {
        return { value: await action() };
      } catch (error) {
        const delayMs = reconnectDelay(attempt, this.timing.backoff);
        this.options.log.warn('retrying', { what, reason: (error as Error).message, attempt: attempt + 1, delayMs });
        await this.wait(delayMs);
      }
    }
    return undefined;
  }

  private async wait(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.closing.signal }).catch(() => undefined);
  }

  private setState(state: AgentState): void {
    if (this.current === 'shut-down') return;
    this.current = state;
    this.emit('state', state);
  }
}
