import { classify, EVENT_CATALOGUE, type CloudEvent, type ClusterModel, type EventData, type ClusterProgress, type Node, type Reason, type TunnelRegistrationIssued } from '@flotilla/contracts';

export const CLUSTER_STATUSES = ['Pending', 'Provisioning', 'Running', 'Failed', 'Importing', 'Rejected', 'Deleted'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** The requests an owning service answers: until it does, they are pending on the cluster. */
export const REQUEST_NAMES = ['ClusterRequested', 'ClusterImportRequested', 'NodePoolScaleRequested', 'UpgradeStepApproved', 'ClusterDeletionRequested'] as const;
export type RequestName = (typeof REQUEST_NAMES)[number];
/** The CloudEvents types of those requests. */
export const REQUEST_TYPES: ReadonlySet<string> = new Set(REQUEST_NAMES.map((name) => EVENT_CATALOGUE.find((definition) => definition.name === name)!.type));

/**
 * What a cluster can wait for: the requests its owners answer, and a registration for the tunnel
 * (TunnelRegistrationIssued) waiting for the cluster's agent to enroll and connect.
 */
export type PendingType = RequestName | 'TunnelRegistrationIssued';

/** How the platform reaches the cluster's API server: through the tunnel its agent dials out, or at the cluster's own address. */
export const CLUSTER_ACCESS = ['direct', 'tunnel'] as const;
export type ClusterAccess = (typeof CLUSTER_ACCESS)[number];

/**
 * The `credentialRef` of an import through the tunnel (the importer's request that follows a
 * redeemed registration): such a cluster is reached only through the tunnel broker.
 */
export const TUNNEL_CREDENTIAL_REF = 'flotilla:tunnel';

/** A request its owner has not answered yet (neither taken up nor refused), or a registration waiting for its agent. */
export interface PendingRequest {
  eventId: string;
  type: PendingType;
  time: string;
  /** What was asked, in a few words (the pool and count, the target version...). */
  summary: string;
  /** Scale requests: the pool; upgrade steps: the plan and target, which the answer names too. */
  pool?: string;
  planId?: string;
  toVersion?: string;
  /** A registration for the tunnel: its id, which its redemption and revocation name. */
  registrationId?: string;
}

/** What is known about one registration for the tunnel besides its issue: its redemption or its revocation. */
export interface RegistrationFacts {
  /** When the tunnel broker redeemed it (the agent enrolled). */
  redeemed?: string;
  /** Its revocation (TunnelRegistrationRevoked), kept to refuse the cluster should the registration arrive later. */
  revoked?: { time: string; eventId: string; source: string };
}

/** The latest refusal or failure the owners reported about the cluster, with every reason. */
export interface Refusal {
  /** The event that reported it: EventRejected, ClusterProvisioningFailed, ImportRejected, UpgradeStepFailed, TunnelRegistrationRevoked. */
  eventId: string;
  type: string;
  source: string;
  time: string;
  /** The request refused, when the report names it (or it is the pending one it answers). */
  requestEventId: string | null;
  requestType: string | null;
  reasons: Reason[];
}

/** Where the owner's work on the cluster stands (ClusterProgress). */
export interface ClusterProgressView {
  phase: EventData<typeof ClusterProgress>['phase'];
  controlPlane: { ready: number; total: number };
  nodePools: { pool: string; ready: number; total: number }[];
  operation: EventData<typeof ClusterProgress>['operation'];
  time: string;
}

/**
 * When each fact of the view was last set, by event time: an event older than the fact it would
 * change arrives late and leaves it alone (the row is locked while it is compared, so replicas
 * agree). Nodes are timed one by one, removals included, so a late join never brings back a
 * removed node.
 */
export interface FactTimes {
  status?: string;
  version?: string;
  nodes?: Record<string, string>;
  /** When the owner last answered requests of each kind (`create`, `scale:<pool>`, `upgrade:<plan>:<version>`...). */
  answers?: Record<string, string>;
  /** The latest requests answered by id (taken up or refused). */
  answeredIds?: string[];
  /** The time of the request that named the cluster: an earlier one, arriving late, names it instead. */
  named?: string;
  /**
   * The status says only that a request for a new id was refused (EventRejected): any fact from
   * the owner overrides it, whenever it happened, since it shows another request was taken up.
   */
  provisional?: boolean;
  /** When the tunnel was last reported connected or disconnected. */
  tunnel?: string;
  /** When `access` was last set. */
  access?: string;
  /** The registrations for the tunnel redeemed or revoked, by registration id. */
  registrations?: Record<string, RegistrationFacts>;
  /** When an imported cloud cluster was adopted (ClusterAdopted): an earlier import does not make it connected again. */
  adopted?: string;
}

/** What the fleet read model knows about one cluster. */
export interface ClusterView {
  id: string;
  name: string | null;
  model: ClusterModel | null;
  /** The labels it was requested or imported with: what label-scoped callers are limited by. */
  labels: Record<string, string>;
  status: ClusterStatus;
  kubernetesVersion: string | null;
  distribution: string | null;
  nodes: Node[];
  reasons: Reason[];
  warnings: Reason[];
  reachable: boolean | null;
  /** The tunnel of a cluster reached through one, as the tunnel broker last reported it (null: never reported). */
  tunnel: 'connected' | 'disconnected' | null;
  /** How the platform reaches its API server: `tunnel` (registered behind a firewall), `direct`, or null while not known. */
  access: ClusterAccess | null;
  /**
   * Whose infrastructure runs it: the request's infrastructure provider (platform-provisioned,
   * hosted workers), a public-cloud cluster's cloud or the import's provider (`cncf`, `eks`,
   * `aks`, `gke`); null when none was named (users' hosts) or not known.
   */
  provider: string | null;
  /** A public-cloud cluster's region (AWS region, Azure location, GCP region or zone); null otherwise. */
  region: string | null;
  lastEventTime: string;
  pendingRequests: PendingRequest[];
  lastRefusal: Refusal | null;
  progress: ClusterProgressView | null;
  factTimes: FactTimes;
}

/**
 * How far along its lifecycle a status is. Events can arrive out of order (they come from
 * different services); a late NodesProvisioned must not take a Running cluster back.
 */
const PROGRESS: Record<ClusterStatus, number> = { Pending: 0, Importing: 0, Provisioning: 1, Running: 2, Failed: 3, Rejected: 3, Deleted: 4 };

/** The service that answers for a cluster of each model: the importer for connected and public-cloud clusters, the provisioner for the rest. */
export function ownerSource(model: ClusterModel): string {
  return model === 'connected' || model === 'public-cloud' ? '/flotilla/importer' : '/flotilla/provisioner';
}

/** Requests about an existing cluster that more than one service reads: only the cluster's owner answers them. */
const OWNER_ANSWERED: ReadonlySet<string | undefined> = new Set(['ClusterDeletionRequested', 'NodePoolScaleRequested', 'UpgradeStepApproved']);

/** Whether `source` answers for the cluster (anyone does while its model is not known). */
function ownedBy(view: ClusterView, source: string): boolean {
  return view.model === null || ownerSource(view.model) === source;
}

function nameOfType(type: string | undefined): string | undefined {
  return type === undefined ? undefined : EVENT_CATALOGUE.find((definition) => definition.type === type)?.name;
}

/**
 * Whether the cluster is on its way out: a deletion request its owner has not answered, or the
 * provisioner's deletion under way. A refused request leaves it open to commands again.
 */
export function beingDeleted(view: ClusterView): boolean {
  if (view.status === 'Deleted') return false;
  return view.pendingRequests.some((request) => request.type === 'ClusterDeletionRequested') || view.progress?.phase === 'Deleting' || view.progress?.operation?.kind === 'delete';
}

function reimportable(status: ClusterStatus): boolean {
  return status === 'Rejected' || status === 'Deleted';
}

/** A cluster nobody has said anything about yet. */
export function emptyView(id: string, time: string): ClusterView {
  return {
    id,
    name: null,
    model: null,
    labels: {},
    status: 'Pending',
    kubernetesVersion: null,
    distribution: null,
    nodes: [],
    reasons: [],
    warnings: [],
    reachable: null,
    tunnel: null,
    access: null,
    provider: null,
    region: null,
    lastEventTime: time,
    pendingRequests: [],
    lastRefusal: null,
    progress: null,
    factTimes: {},
  };
}

/** Is this event older than the fact it would change? Then it is late and changes nothing. */
function late(factTime: string | undefined, time: string): boolean {
  return factTime !== undefined && before(time, factTime);
}

function before(a: string, b: string): boolean {
  return Date.parse(a) < Date.parse(b);
}

/**
 * The status a fact leads to: only forward in the lifecycle, and never by an event older than
 * the one that set the current status. `reset` allows going back (a connected cluster imported
 * again after a rejection or deletion).
 */
function withStatus(view: ClusterView, status: ClusterStatus, time: string, reset = false): ClusterView {
  const { provisional, ...times } = view.factTimes;
  if (provisional) return { ...view, status, reasons: [], factTimes: { ...times, status: time } };
  if (late(view.factTimes.status, time)) return view;
  if (!reset && PROGRESS[status] < PROGRESS[view.status]) return view;
  return { ...view, status, factTimes: { ...view.factTimes, status: time } };
}

/** A refused request for a new id: the cluster is Failed (Rejected, an import) unless a fact of its owner says otherwise. */
function refusedOutright(view: ClusterView, status: 'Failed' | 'Rejected', time: string, reasons: Reason[]): ClusterView {
  const refused = withStatus(view, status, time);
  return { ...refused, reasons, factTimes: { ...refused.factTimes, provisional: true } };
}

function withVersion(view: ClusterView, version: string, time: string): ClusterView {
  if (late(view.factTimes.version, time)) return view;
  return { ...view, kubernetesVersion: version, factTimes: { ...view.factTimes, version: time } };
}

/** Nodes joined and removed at `time`: each node changes only if nothing newer is known about it. */
function withNodes(view: ClusterView, time: string, added: readonly Node[], removed: readonly string[] = []): ClusterView {
  const times = { ...view.factTimes.nodes };
  const byName = new Map(view.nodes.map((node) => [node.name, node]));
  for (const name of removed) {
    if (late(times[name], time)) continue;
    byName.delete(name);
    times[name] = time;
  }
  // A deleted cluster keeps no nodes, however late a join is reported.
  if (view.status !== 'Deleted') {
    for (const node of added) {
      if (late(times[node.name], time)) continue;
      byName.set(node.name, node);
      times[node.name] = time;
    }
  }
  const nodes = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { ...view, nodes, factTimes: { ...view.factTimes, nodes: times } };
}

/** Which answer a request waits for: answers name the same key (or the request's id). */
function keyOf(type: PendingType, detail: { pool?: string; planId?: string; toVersion?: string; registrationId?: string } = {}): string {
  switch (type) {
    case 'ClusterRequested':
      return 'create';
    case 'ClusterImportRequested':
      return 'import';
    case 'ClusterDeletionRequested':
      return 'delete';
    case 'NodePoolScaleRequested':
      return `scale:${detail.pool ?? ''}`;
    case 'UpgradeStepApproved':
      // Steps are one minor each: `1.34` approved is answered by `v1.34.1` upgraded.
      return `upgrade:${detail.planId ?? ''}:${minorOf(detail.toVersion ?? '')}`;
    case 'TunnelRegistrationIssued':
      return `register:${detail.registrationId ?? ''}`;
  }
}

function minorOf(version: string): string {
  return version.replace(/^v/, '').split(/[.+-]/).slice(0, 2).join('.');
}

/** How many answered request ids a view remembers (a request arriving after its answer is not pending). */
const ANSWERED_IDS = 32;

/**
 * A request joins the pending ones unless its answer is already known: reordered, the answer can
 * arrive first (an answer about the same key at or after the request's time, or naming its id),
 * or the cluster was deleted since (every request made until then is moot). A refusal that
 * arrived first, naming no request of this kind, names this one.
 */
function pending(view: ClusterView, event: CloudEvent, type: PendingType, summary: string, detail: Pick<PendingRequest, 'pool' | 'planId' | 'toVersion' | 'registrationId'> = {}): ClusterView {
  const key = keyOf(type, detail);
  if (view.pendingRequests.some((request) => request.eventId === event.id)) return view;
  if (view.factTimes.answeredIds?.includes(event.id)) return view;
  const answeredAt = view.factTimes.answers?.[key];
  if (answeredAt !== undefined && !before(answeredAt, event.time)) {
    const refusal = view.lastRefusal;
    const unnamed = refusal && refusal.requestEventId === null && refusal.requestType === type && !before(refusal.time, event.time);
    return unnamed ? { ...view, lastRefusal: { ...refusal, requestEventId: event.id } } : view;
  }
  if (view.status === 'Deleted' && view.factTimes.status !== undefined && !before(view.factTimes.status, event.time)) return view;
  return { ...view, pendingRequests: [...view.pendingRequests, { eventId: event.id, type, time: event.time, summary, ...detail }] };
}

/**
 * The owner answered at `time`, about a key (every request of that key made until then) or one
 * request by its id: those requests are no longer pending, and one arriving late will not be.
 */
function answer(view: ClusterView, time: string, by: { key?: string; id?: string | undefined }): ClusterView {
  const { key, id } = by;
  const answers = { ...view.factTimes.answers };
  if (key !== undefined && (answers[key] === undefined || before(answers[key], time))) answers[key] = time;
  const answeredIds = id === undefined ? view.factTimes.answeredIds : [...(view.factTimes.answeredIds ?? []).filter((known) => known !== id), id].slice(-ANSWERED_IDS);
  const pendingRequests = view.pendingRequests.filter((request) => !(request.eventId === id || (key !== undefined && keyOf(request.type, request) === key && !before(time, request.time))));
  return { ...view, pendingRequests, factTimes: { ...view.factTimes, answers, ...(answeredIds ? { answeredIds } : {}) } };
}

function refused(view: ClusterView, event: Pick<CloudEvent, 'id' | 'source' | 'time'>, name: string, reasons: Reason[], request: { eventId: string | null; type: string | null }): ClusterView {
  if (view.lastRefusal && late(view.lastRefusal.time, event.time)) return view;
  const lastRefusal: Refusal = { eventId: event.id, type: name, source: event.source, time: event.time, requestEventId: request.eventId, requestType: request.type, reasons };
  return { ...view, lastRefusal };
}

/** The pending request an answer about `key` (or naming `id`) settles, for the refusal to name it. */
function findRequest(view: ClusterView, by: { key?: string; id?: string }): PendingRequest | undefined {
  return view.pendingRequests.find((request) => request.eventId === by.id || (by.key !== undefined && keyOf(request.type, request) === by.key));
}

/** Whether a cluster is still open to an import or a registration taking it (its name, labels and model). */
function openToImport(view: ClusterView | undefined, time: string): boolean {
  if (!view) return true;
  // A deleted cluster of any model may be imported (or registered) under its id, its history
  // kept: the importer holds nothing of a deleted platform cluster and would manage it while
  // the read model showed it Deleted.
  if (view.model !== null && view.model !== 'connected') return view.status === 'Deleted' && !late(view.factTimes.status, time);
  // Known only from facts that name nothing (its tunnel, a refusal): nobody's name or labels to keep.
  if (view.name === null) return true;
  // A rejected or deleted connected cluster may be imported (or registered) again.
  return view.model === 'connected' && reimportable(view.status) && !late(view.factTimes.status, time);
}

/**
 * The cluster an import request or a registration takes, when it is open to it (new, known only
 * from facts that name nothing, or rejected or deleted before): its name, labels and model, and
 * Importing. Delivered after the import it led to (the cluster imported, and no request named it
 * yet), it still names and labels it, without taking its status back. Otherwise undefined: the
 * cluster is someone else's, and keeps its name and labels (which scoped access follows).
 */
function claimed(
  view: ClusterView | undefined,
  next: ClusterView,
  time: string,
  identity: { name: string; labels?: Record<string, string> | undefined; provider: string },
  access: ClusterAccess,
): ClusterView | undefined {
  const named: ClusterView = { ...next, name: identity.name, model: 'connected', labels: identity.labels ?? {}, provider: identity.provider, factTimes: { ...next.factTimes, named: time } };
  if (openToImport(view, time)) {
    const importing = withStatus(named, 'Importing', time, true);
    const reasons = importing.factTimes.status === time ? [] : importing.reasons;
    return withAccess({ ...importing, reasons }, access, time);
  }
  const { named: namedAt, status: statusAt } = view?.factTimes ?? {};
  if (view?.model === 'connected' && namedAt === undefined && statusAt !== undefined && !before(statusAt, time)) return withAccess(named, access, time);
  return undefined;
}

/** A cluster first heard of through a fact about its tunnel: a connected cluster on its way in. */
function tunnelCluster(view: ClusterView | undefined, next: ClusterView): ClusterView {
  return view ? next : { ...next, model: 'connected', status: 'Importing' };
}

function withAccess(view: ClusterView, access: ClusterAccess, time: string): ClusterView {
  if (late(view.factTimes.access, time)) return view;
  return { ...view, access, factTimes: { ...view.factTimes, access: time } };
}

/**
 * The tunnel broker's facts about the cluster's agent (it enrolled, connected, disconnected) say
 * the cluster is reached through its tunnel; a platform cluster stays what it is.
 */
function throughTunnel(view: ClusterView, time: string): ClusterView {
  return view.model === null || view.model === 'connected' ? withAccess(view, 'tunnel', time) : view;
}

function withRegistration(view: ClusterView, registrationId: string, facts: RegistrationFacts): ClusterView {
  const registrations = { ...view.factTimes.registrations };
  registrations[registrationId] = { ...registrations[registrationId], ...facts };
  return { ...view, factTimes: { ...view.factTimes, registrations } };
}

const isRegistration = (request: PendingRequest) => request.type === 'TunnelRegistrationIssued';

/**
 * The agent connected (or the cluster was imported through its tunnel, refused or deleted) at
 * `time`: no registration issued until then waits any more, and one arriving late will not.
 */
function registrationsSettled(view: ClusterView, time: string): ClusterView {
  const answers = { ...view.factTimes.answers };
  if (answers['register'] === undefined || before(answers['register'], time)) answers['register'] = time;
  const pendingRequests = view.pendingRequests.filter((request) => !(isRegistration(request) && !before(time, request.time)));
  return { ...view, pendingRequests, factTimes: { ...view.factTimes, answers } };
}

/**
 * A registration issued for the cluster waits for its agent, unless what followed is known
 * already (delivered first): its redemption, the agent connected since, the cluster imported,
 * refused or deleted since. Revoked meanwhile, it refuses the cluster it alone was waiting for.
 */
function awaitAgent(view: ClusterView, event: CloudEvent, data: EventData<typeof TunnelRegistrationIssued>): ClusterView {
  const facts = view.factTimes.registrations?.[data.registrationId];
  const settledAt = view.factTimes.answers?.['register'];
  if (facts?.redeemed !== undefined || (settledAt !== undefined && !before(settledAt, event.time))) return view;
  const summary = `register "${data.clusterName}": waiting for its tunnel agent to enroll and connect (registration ${data.registrationId}, token valid until ${data.expiresAt})`;
  const waiting = pending(view, event, 'TunnelRegistrationIssued', summary, { registrationId: data.registrationId });
  return facts?.revoked ? revoked(waiting, data.registrationId, facts.revoked) : waiting;
}

/**
 * A registration revoked before its agent enrolled: it waits no more, and a cluster that was
 * waiting for nothing else (still Importing, no import requested, no other registration) is
 * Rejected. A registration still pending has seen no redemption, no tunnel and no import since.
 */
function revoked(view: ClusterView, registrationId: string, revocation: NonNullable<RegistrationFacts['revoked']>): ClusterView {
  const registration = view.pendingRequests.find((request) => isRegistration(request) && request.registrationId === registrationId);
  if (!registration) return view;
  const rest = { ...view, pendingRequests: view.pendingRequests.filter((request) => request !== registration) };
  const waitingForNothingElse = rest.status === 'Importing' && !rest.pendingRequests.some((request) => request.type === 'ClusterImportRequested' || isRegistration(request));
  if (!waitingForNothingElse) return rest;
  const reasons: Reason[] = [{ code: 'registration-revoked', message: `registration ${registrationId} was revoked before the tunnel agent of the cluster enrolled` }];
  const rejected = withStatus(rest, 'Rejected', revocation.time);
  const shown = rejected.factTimes.status === revocation.time ? reasons : rejected.reasons;
  return refused({ ...rejected, reasons: shown }, { id: revocation.eventId, source: revocation.source, time: revocation.time }, 'TunnelRegistrationRevoked', reasons, {
    eventId: registration.eventId,
    type: 'TunnelRegistrationIssued',
  });
}

/**
 * The projection: the next view of a cluster after an event, or `undefined` when the event says
 * nothing about a cluster's state (plans: they only go to the history).
 *
 * Facts, not requests: a request never changes an existing cluster (not its name, its spec or
 * its labels); it is pending until its owner takes it up or refuses it, and a refusal is shown
 * on the cluster with its reasons. A request about a new id shows the cluster as Pending (or
 * Importing) until then. Facts are applied in the order they happened: each is compared with
 * the time of the fact it would change (`factTimes`), so a late event never rolls anything back.
 */
export function evolve(view: ClusterView | undefined, event: CloudEvent): ClusterView | undefined {
  const known = classify(event);
  if (!known) return undefined;
  const base = view ?? emptyView(event.subject, event.time);
  const next: ClusterView = { ...base, lastEventTime: Date.parse(event.time) > Date.parse(base.lastEventTime) ? event.time : base.lastEventTime };
  const time = event.time;
  switch (known.name) {
    case 'ClusterRequested': {
      const { data } = known.event;
      const summary = `${data.model} cluster "${data.name}" on Kubernetes ${data.kubernetesVersion}`;
      // The first request for an id names the cluster (its name, labels and spec): the one the
      // provisioner takes up. Arriving late, after facts or even after a later request, it still
      // does; any later request never renames or relabels it. A cluster the API made is named
      // by its own request.
      const namedAt = next.factTimes.named;
      const first = view === undefined || view.name === null || (namedAt !== undefined && before(time, namedAt));
      const named = first
        ? {
            ...next,
            name: data.name,
            model: view?.progress || view?.factTimes.status ? next.model ?? data.model : data.model,
            labels: data.labels ?? {},
            provider: data.cloud?.provider ?? data.infrastructure?.provider ?? null,
            region: data.cloud?.region ?? null,
            kubernetesVersion: next.factTimes.version === undefined ? data.kubernetesVersion : next.kubernetesVersion,
            factTimes: { ...next.factTimes, named: time },
          }
        : next;
      const reached = first ? withAccess(named, 'direct', time) : named;
      // Pending until the provisioner answers: it takes it up, finds it is the request it already
      // has, or refuses it (EventRejected) when it asks for something else.
      return pending(reached, event, 'ClusterRequested', summary);
    }
    case 'ClusterProgress': {
      // The provisioner's word about a platform cluster, of an earlier life of a connected one
      // (deleted, then imported under its id): the history keeps it, it answers nothing now.
      if (next.model === 'connected') return next;
      const { data } = known.event;
      let changed = answer(answer(next, time, { key: 'create' }), time, { id: data.requestEventId });
      if (!changed.progress || !late(changed.progress.time, time)) {
        changed = { ...changed, model: changed.model ?? data.model, progress: { phase: data.phase, controlPlane: data.controlPlane, nodePools: data.nodePools, operation: data.operation, time } };
      }
      // The phase moves the status forward only: failures and deletion come with their own facts.
      if (data.phase === 'Running') return withStatus(changed, 'Running', time);
      return ['Pending', 'Provisioning', 'Provisioned'].includes(data.phase) ? withStatus(changed, 'Provisioning', time) : changed;
    }
    case 'NodesProvisioned': {
      const answered = answer(next, time, { key: 'create' });
      return withStatus(withNodes({ ...answered, model: answered.model ?? known.event.data.model }, time, known.event.data.nodes), 'Provisioning', time);
    }
    case 'ClusterReady': {
      const answered = answer(next, time, { key: 'create' });
      const ready = withStatus(withVersion({ ...answered, model: answered.model ?? known.event.data.model }, known.event.data.kubernetesVersion, time), 'Running', time);
      return ready.factTimes.status === time && ready.status === 'Running' ? { ...ready, reasons: [] } : ready;
    }
    case 'ClusterProvisioningFailed': {
      const request = findRequest(next, { key: 'create' });
      const failed = withStatus(answer(next, time, { key: 'create' }), 'Failed', time);
      const reasons = failed.factTimes.status === time ? known.event.data.reasons : failed.reasons;
      return refused({ ...failed, model: failed.model ?? known.event.data.model ?? null, reasons }, event, known.name, known.event.data.reasons, { eventId: request?.eventId ?? null, type: 'ClusterRequested' });
    }
    case 'MachineReplaced':
      return withNodes(next, time, [], [known.event.data.oldMachine.name]);
    case 'ClusterUpgraded': {
      const { data } = known.event;
      const answered = data.planId === undefined ? next : answer(next, time, { key: keyOf('UpgradeStepApproved', data) });
      return withVersion(answered, data.toVersion, time);
    }
    case 'UpgradeStepFailed': {
      const { data } = known.event;
      const key = keyOf('UpgradeStepApproved', data);
      const request = findRequest(next, { key });
      return refused(answer(next, time, { key }), event, known.name, data.reasons, { eventId: request?.eventId ?? null, type: 'UpgradeStepApproved' });
    }
    case 'ClusterVersionChanged':
      return withVersion(next, known.event.data.kubernetesVersion, time);
    case 'ClusterDeleted': {
      // Every request made until now is moot.
      const settled = registrationsSettled({ ...next, pendingRequests: next.pendingRequests.filter((request) => before(time, request.time)) }, time);
      const gone = withStatus(answer(settled, time, { key: 'delete' }), 'Deleted', time);
      if (gone.status !== 'Deleted' || gone.factTimes.status !== time) return gone;
      return { ...withNodes(gone, time, [], gone.nodes.map((node) => node.name)), progress: null };
    }
    case 'ClusterImportRequested': {
      const { data } = known.event;
      const tunnel = data.credentialRef === TUNNEL_CREDENTIAL_REF;
      const summary = tunnel ? `import "${data.name}" through its tunnel` : `import "${data.name}"`;
      // Through the tunnel, it follows the redemption of a registration: none waits any more.
      const asked = tunnel ? registrationsSettled(next, time) : next;
      // A rejected or deleted connected cluster may be imported again. A request naming any other
      // existing cluster changes nothing about it (least of all its labels, which scoped access
      // follows): it is pending until the importer answers, and the history shows it.
      const importing = claimed(view, asked, time, data, tunnel ? 'tunnel' : 'direct') ?? asked;
      return pending(importing, event, 'ClusterImportRequested', summary);
    }
    case 'ClusterImported': {
      const { data } = known.event;
      const answered = registrationsSettled(answer(next, time, { key: 'import' }), time);
      if (late(answered.factTimes.status, time)) return withVersion(answered, data.kubernetesVersion, time);
      const status: ClusterStatus = answered.status === 'Deleted' ? 'Deleted' : 'Running';
      // Adopted since (a later fact): it stays the public-cloud cluster it became.
      const adopted = answered.factTimes.adopted !== undefined && !before(answered.factTimes.adopted, time);
      const imported = { ...answered, name: data.name, model: adopted ? answered.model : ('connected' as const), distribution: data.distribution, warnings: data.warnings, reachable: true, reasons: [], status, factTimes: { ...answered.factTimes, status: time } };
      return withVersion(imported, data.kubernetesVersion, time);
    }
    case 'ImportRejected': {
      const request = findRequest(next, { key: 'import' });
      const answered = registrationsSettled(answer(next, time, { key: 'import' }), time);
      // Only an import still waiting for its answer is rejected: refusing a request that named an
      // existing cluster leaves that cluster as it is.
      const ownImport = !view || answered.status === 'Importing';
      const rejected = ownImport ? withStatus({ ...answered, model: 'connected' }, 'Rejected', time) : answered;
      const reasons = rejected.factTimes.status === time ? known.event.data.reasons : rejected.reasons;
      return refused({ ...rejected, reasons }, event, known.name, known.event.data.reasons, { eventId: request?.eventId ?? null, type: 'ClusterImportRequested' });
    }
    case 'ClusterAdopted': {
      // An imported cloud cluster the importer manages from now on: a public-cloud cluster.
      const { data } = known.event;
      if (late(next.factTimes.adopted, time)) return next;
      const adopted: ClusterView = { ...next, model: data.model, provider: data.provider, region: data.region, factTimes: { ...next.factTimes, adopted: time } };
      return withVersion(adopted, data.kubernetesVersion, time);
    }
    case 'ClusterUnreachable':
      return { ...next, reachable: false };
    case 'ClusterReachable':
      return { ...next, reachable: true };
    case 'TunnelConnected':
    case 'TunnelDisconnected': {
      // Always recorded, in the order it happened, even before anything else is known of the
      // cluster; the agent connected (a disconnection says it had), so no registration waits.
      const state: ClusterView['tunnel'] = known.name === 'TunnelConnected' ? 'connected' : 'disconnected';
      const cluster = tunnelCluster(view, next);
      const recorded = late(cluster.factTimes.tunnel, time) ? cluster : { ...cluster, tunnel: state, factTimes: { ...cluster.factTimes, tunnel: time } };
      return throughTunnel(registrationsSettled(recorded, time), time);
    }
    case 'TunnelRegistrationIssued': {
      // A cluster behind a firewall, registered: a connected cluster waiting for its agent. An
      // existing cluster is not taken over (its name, labels, status): only its history shows it.
      const { data } = known.event;
      // Clusters behind a firewall are any CNCF-conformant cluster: their import names provider cncf.
      const importing = claimed(view, next, time, { name: data.clusterName, labels: data.labels, provider: 'cncf' }, 'tunnel');
      if (importing) return awaitAgent(importing, event, data);
      // Registered again while it waits for an agent (a token expired, say): it waits for either.
      const waiting = next.model === 'connected' && next.access === 'tunnel' && next.status === 'Importing';
      return waiting ? awaitAgent(next, event, data) : undefined;
    }
    case 'TunnelRegistrationRedeemed': {
      // The agent enrolled: the importer asks for the import through the tunnel next.
      const { registrationId } = known.event.data;
      const recorded = withRegistration(tunnelCluster(view, next), registrationId, { redeemed: time });
      const answered = { ...recorded, pendingRequests: recorded.pendingRequests.filter((request) => !(isRegistration(request) && request.registrationId === registrationId)) };
      return throughTunnel(answered, time);
    }
    case 'TunnelRegistrationRevoked': {
      const { registrationId } = known.event.data;
      const revocation = { time, eventId: event.id, source: event.source };
      return revoked(withRegistration(tunnelCluster(view, next), registrationId, { revoked: revocation }), registrationId, revocation);
    }
    case 'NodePoolScaled': {
      const { data } = known.event;
      return withNodes(answer(next, time, { key: keyOf('NodePoolScaleRequested', data) }), time, data.nodes, data.removed);
    }
    case 'NodePoolScaleRequested': {
      if (!view) return undefined;
      const { data } = known.event;
      return pending(next, event, 'NodePoolScaleRequested', `node pool "${data.pool}" to ${data.count}`, { pool: data.pool });
    }
    case 'ClusterDeletionRequested':
      return view ? pending(next, event, 'ClusterDeletionRequested', known.event.data.reason ?? 'delete') : undefined;
    case 'UpgradeStepApproved': {
      if (!view) return undefined;
      const { planId, toVersion } = known.event.data;
      return pending(next, event, 'UpgradeStepApproved', `upgrade to ${toVersion} (plan ${planId})`, { planId, toVersion });
    }
    case 'EventRejected': {
      // A consumer refused an event about this cluster: shown on it with the reason. When the
      // refused event is a pending request, its owner has answered; the last request for a
      // cluster nobody has made yet, refused, leaves it Failed (Rejected, an import).
      if (!view) return undefined;
      const { data } = known.event;
      const request = findRequest(next, { id: data.rejectedEventId });
      // A deletion, scale or upgrade step is answered by the cluster's owner only: the provisioner
      // refuses those of every connected or public-cloud cluster (it does not know them), the
      // importer those of every platform cluster.
      const ownerAnswers = OWNER_ANSWERED.has(request?.type ?? nameOfType(data.rejectedType));
      if (ownerAnswers && !ownedBy(next, event.source)) return next;
      const reasons: Reason[] = [{ code: data.code, message: data.reason }];
      const named = refused(answer(next, time, { id: data.rejectedEventId }), event, known.name, reasons, { eventId: data.rejectedEventId, type: request?.type ?? data.rejectedType ?? null });
      const last = request && !named.pendingRequests.some((candidate) => candidate.type === request.type);
      if (last && request.type === 'ClusterRequested' && named.status === 'Pending') return refusedOutright(named, 'Failed', time, reasons);
      if (last && request.type === 'ClusterImportRequested' && named.status === 'Importing') return refusedOutright(named, 'Rejected', time, reasons);
      return named;
    }
    // Plans: the history shows them.
    case 'UpgradePlanRequested':
    case 'UpgradePlanned':
    // A user's host failing its health check: the history says what is done about it; the nodes stay as they are.
    case 'NodeUnhealthy':
      return undefined;
  }
}

/** One line of a cluster's history, for operators following a request across services. */
export function summarise(event: CloudEvent): string {
  const line = summaryOf(event);
  // A decision says which version policy it was made under.
  const data = event.data as { policyRevision?: unknown; release?: unknown } | null;
  const revision = typeof data?.policyRevision === 'string' ? data.policyRevision : undefined;
  const release = typeof data?.release === 'string' ? data.release : undefined;
  return revision ? `${line} [policy ${revision}${release ? `, release ${release}` : ''}]` : line;
}

function summaryOf(event: CloudEvent): string {
  const known = classify(event);
  if (!known) return event.type;
  switch (known.name) {
    case 'ClusterProvisioningFailed':
    case 'ImportRejected':
    case 'UpgradeStepFailed':
      return `${known.name}: ${known.event.data.reasons.map((reason) => reason.message).join('; ')}`;
    case 'NodesProvisioned':
      return `${known.name}: ${known.event.data.nodes.length} node(s)`;
    case 'ClusterAdopted': {
      const { data } = known.event;
      const pools = data.nodePools.map((pool) => `${pool.name} ${pool.count} x ${pool.machineSize}`).join(', ');
      return `${known.name}: managed by Flotilla from now on, a public-cloud cluster at ${data.provider} ${data.region} on Kubernetes ${data.kubernetesVersion}${pools ? ` (${pools})` : ''}`;
    }
    case 'NodeUnhealthy':
      return `${known.name}: ${known.event.data.node} (${known.event.data.address}), ${known.event.data.remediation}: ${known.event.data.message}`;
    case 'EventRejected':
      return `${known.name}: ${known.event.data.code}: ${known.event.data.reason}`;
    case 'TunnelRegistrationIssued':
      return `${known.name}: "${known.event.data.clusterName}", registration ${known.event.data.registrationId}, token valid until ${known.event.data.expiresAt}`;
    case 'TunnelRegistrationRedeemed':
      return `${known.name}: registration ${known.event.data.registrationId} by agent ${known.event.data.agentId}`;
    case 'TunnelRegistrationRevoked':
      return `${known.name}: registration ${known.event.data.registrationId}`;
    case 'TunnelConnected':
      return `${known.name}: agent ${known.event.data.agentId}${known.event.data.agentVersion ? ` ${known.event.data.agentVersion}` : ''}`;
    case 'TunnelDisconnected':
      return `${known.name}: agent ${known.event.data.agentId}: ${known.event.data.reason}`;
    case 'ClusterProgress': {
      const { data } = known.event;
      const pools = data.nodePools.map((pool) => `${pool.pool} ${pool.ready}/${pool.total}`).join(', ');
      return `${known.name}: ${data.phase}, control plane ${data.controlPlane.ready}/${data.controlPlane.total}${pools ? `, ${pools}` : ''}`;
    }
    default:
      return known.name;
  }
}
