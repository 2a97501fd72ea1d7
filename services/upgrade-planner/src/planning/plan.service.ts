import { Inject, Injectable, Logger } from '@nestjs/common';
import { renderPlanTable, resolveUpgradeRoute, UpgradePlanned, type UpgradePlan } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { UPGRADE_PLANNER_CONFIG, type UpgradePlannerConfig } from '../config.js';
import { PlannerError } from '../domain/errors.js';
import { KeptPlan } from '../domain/plan-revision.js';
import { toUpgradePlannedData } from '../domain/planned-event.js';
import type { MatrixInForce } from '../domain/support-matrix-revision.js';
import type { RevisionTrigger } from '../entities/plan-revision.entity.js';
import type { PlanEntity, PlanStatus, RequestedVia } from '../entities/plan.entity.js';
import { PlanRepository, type PlanParameters, type RevisionHead, type RevisionSummary } from '../repositories/plan.repository.js';
import { FleetView } from './fleet-view.js';
import { SupportMatrixStore } from './support-matrix.store.js';

/** A plan revision as the API shows it: the planner's output plus where it stands. */
export type PlanView = UpgradePlan & {
  id: string;
  status: PlanStatus;
  revision: number;
  currentRevision: number;
  trigger: RevisionTrigger;
  requestedVia: RequestedVia;
  changes: string[];
  matrixSequence: number;
  eventId: string;
  createdAt: string;
  revisedAt: string;
};

export interface PlanListItem {
  id: string;
  status: PlanStatus;
  fromRelease: string;
  toRelease: string;
  toVersion: string | null;
  maxConcurrency: number;
  currentRevision: number;
  href: string;
}

export type RecomputeOutcome = 'revised' | 'unchanged' | 'closed' | 'behind';

/** The last revision this process computed or read, to skip recomputing (and re-reading) it. */
interface Known {
  revision: number;
  eventId: string;
  plan: UpgradePlan;
  fleetGeneration: number;
  matrixSequence: number;
}

export const planHref = (id: string) => `/api/v1/upgrade-plans/${id}`;

/** Plans kept in memory: a 100,000-cluster plan is about 20 MB, and open plans are few. */
const KNOWN_PLANS = 4;

/**
 * Plans: computing them from the fleet view and the matrix in force, persisting each revision,
 * announcing it as UpgradePlanned in the same transaction, and recomputing open plans when what
 * they were computed from changes. One writer per plan at a time (row lock), across replicas.
 */
@Injectable()
export class PlanService {
  private readonly logger = new Logger(PlanService.name);
  private readonly known = new Map<string, Known>();
  /** Per plan, its planner kept between revisions: a changed fact re-plans that cluster, not the fleet. */
  private readonly kept = new Map<string, KeptPlan>();

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(PlanRepository) private readonly plans: PlanRepository,
    @Inject(FleetView) private readonly fleet: FleetView,
    @Inject(SupportMatrixStore) private readonly matrices: SupportMatrixStore,
    @Inject(UPGRADE_PLANNER_CONFIG) private readonly config: UpgradePlannerConfig,
  ) {}

  /**
   * A plan request (event or HTTP). A new id creates the plan; a known id is planned again with
   * the parameters given (reopening it if closed) and gets a revision when anything changed.
   * Joins the caller's transaction (an event handler's) or runs its own.
   */
  async request(id: string, parameters: PlanParameters, via: RequestedVia): Promise<number> {
    await this.fleet.refresh();
    return this.unitOfWork.run(async () => {
      const matrix = this.matrices.inForce();
      assertPossible(parameters, matrix);
      const existing = await this.plans.findForUpdate(id);
      if (!existing) {
        await this.plans.create(id, parameters, via);
        const { plan } = this.revise(id, parameters, matrix);
        await this.commit(id, 1, 'requested', plan, [], matrix, parameters);
        return 1;
      }
      const head = await this.head(existing);
      this.assertNotBehind(id, head, matrix);
      const previous = await this.planAt(id, head);
      const { plan, changes } = this.revise(id, parameters, matrix, previous);
      if (existing.status === 'closed') changes.unshift('plan reopened');
      if (changes.length === 0) {
        // Nothing to revise, but whoever asked gets an answer: the current revision again.
        this.announce(id, head.revision, previous, []);
        return head.revision;
      }
      await this.commit(id, head.revision + 1, 're-requested', plan, changes, matrix, parameters);
      return head.revision + 1;
    });
  }

  /** Recomputes every open plan after the fleet or the matrix changed. */
  async recomputeOpen(): Promise<Map<string, RecomputeOutcome>> {
    await this.fleet.refresh();
    const outcomes = new Map<string, RecomputeOutcome>();
    for (const id of await this.plans.openPlanIds()) {
      try {
        outcomes.set(id, await this.recompute(id));
      } catch (error) {
        // One plan failing must not keep the others stale; the next change or poll retries it.
        this.logger.error({ msg: 'plan recompute failed', planId: id, error: String(error) });
      }
    }
    return outcomes;
  }

  async recompute(id: string): Promise<RecomputeOutcome> {
    return this.unitOfWork.run(async () => {
      const row = await this.plans.findForUpdate(id);
      if (!row || row.status !== 'open') return 'closed';
      const head = await this.head(row);
      const matrix = this.matrices.inForce();
      // Another replica already used a newer matrix: going back to ours would undo it.
      if (isBehind(head, matrix)) return 'behind';
      const known = this.known.get(id);
      if (known?.eventId === head.eventId && known.fleetGeneration === this.fleet.generation && known.matrixSequence === matrix.sequence) return 'unchanged';
      const parameters: PlanParameters = { fromRelease: row.fromRelease, toRelease: row.toRelease, maxConcurrency: row.maxConcurrency, ...(row.toVersion ? { toVersion: row.toVersion } : {}) };
      const previous = await this.planAt(id, head);
      const { plan, changes } = this.revise(id, parameters, matrix, previous);
      if (changes.length === 0) {
        this.remember(id, { revision: head.revision, eventId: head.eventId, plan: previous, fleetGeneration: this.fleet.generation, matrixSequence: matrix.sequence });
        return 'unchanged';
      }
      const trigger: RevisionTrigger = previous.policyRevision !== plan.policyRevision ? 'matrix-changed' : 'fleet-changed';
      await this.commit(id, head.revision + 1, trigger, plan, changes, matrix);
      this.logger.log({ msg: 'plan revised', planId: id, revision: head.revision + 1, trigger, changes: changes.length });
      return 'revised';
    });
  }

  async close(id: string): Promise<PlanListItem> {
    return this.unitOfWork.run(async () => {
      const row = await this.plans.findForUpdate(id);
      if (!row) throw new PlannerError('plan-not-found', `plan "${id}" not found`);
      await this.plans.update(id, { status: 'closed' });
      return listItem({ ...row, status: 'closed' });
    });
  }

  async list(): Promise<PlanListItem[]> {
    return (await this.plans.list()).map(listItem);
  }

  async view(id: string, revision?: number): Promise<PlanView> {
    const row = await this.plans.find(id);
    if (!row) throw new PlannerError('plan-not-found', `plan "${id}" not found`);
    const wanted = revision ?? row.currentRevision;
    const summary = await this.plans.revisionSummary(id, wanted);
    if (!summary) throw new PlannerError('revision-not-found', `plan "${id}" has no revision ${wanted} (current: ${row.currentRevision})`);
    const plan = await this.planAt(id, summary);
    return {
      id,
      status: row.status,
      revision: summary.revision,
      currentRevision: row.currentRevision,
      trigger: summary.trigger,
      requestedVia: row.requestedVia,
      ...plan,
      changes: summary.changes,
      matrixSequence: summary.matrixSequence,
      eventId: summary.eventId,
      createdAt: row.createdAt.toISOString(),
      revisedAt: summary.createdAt,
    };
  }

  /** The `clusterctl upgrade plan`-style table, headed by the plan id and revision. */
  async table(id: string, revision?: number): Promise<string> {
    const view = await this.view(id, revision);
    const changes = view.changes.length > 0 ? ['Changes against the previous revision:', ...view.changes.map((change) => `  - ${change}`), ''] : [];
    return [`Plan ${view.id}, revision ${view.revision} of ${view.currentRevision} (${view.status})`, ...changes, renderPlanTable(view)].join('\n');
  }

  async revisions(id: string): Promise<RevisionSummary[]> {
    const row = await this.plans.find(id);
    if (!row) throw new PlannerError('plan-not-found', `plan "${id}" not found`);
    return this.plans.history(id);
  }

  private revise(id: string, parameters: PlanParameters, matrix: MatrixInForce, previous?: UpgradePlan): { plan: UpgradePlan; changes: string[] } {
    let kept = this.kept.get(id);
    if (kept) this.kept.delete(id);
    else kept = new KeptPlan();
    // Most recently used last; the planners of plans not revised for a while are let go.
    this.kept.set(id, kept);
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= KNOWN_PLANS) break;
      this.kept.delete(oldest);
    }
    const { plan, changes, incremental } = kept.revise(this.fleet, parameters, matrix.matrix, previous);
    this.logger.debug({ msg: 'plan computed', planId: id, incremental, changes: changes.length });
    return { plan, changes };
  }

  private async head(row: PlanEntity): Promise<RevisionHead> {
    const head = await this.plans.head(row.id, row.currentRevision);
    if (!head) throw new Error(`plan ${row.id}: revision ${row.currentRevision} is missing`);
    return head;
  }

  /** A stored plan, from memory when this process made or read that very revision. */
  private async planAt(id: string, head: RevisionHead): Promise<UpgradePlan> {
    const known = this.known.get(id);
    // The event id tells a committed revision from one made in a transaction that rolled back.
    if (known?.revision === head.revision && known.eventId === head.eventId) return known.plan;
    const plan = await this.plans.plan(id, head.revision);
    if (plan === undefined) throw new PlannerError('revision-not-found', `plan "${id}" has no revision ${head.revision}`);
    if (plan === null) throw new PlannerError('revision-pruned', `revision ${head.revision} of plan "${id}" is older than the ${this.config.PLAN_REVISIONS_KEPT} kept whole: GET ${planHref(id)}/revisions has its summary and changes`);
    return plan;
  }

  /** Remembers the last revision of a plan, keeping the most recently used few. */
  private remember(id: string, known: Known): void {
    this.known.delete(id);
    this.known.set(id, known);
    for (const oldest of this.known.keys()) {
      if (this.known.size <= KNOWN_PLANS) break;
      this.known.delete(oldest);
    }
  }

  private assertNotBehind(id: string, head: RevisionHead, matrix: MatrixInForce): void {
    if (isBehind(head, matrix)) {
      throw new PlannerError(
        'matrix-behind',
        `plan "${id}" already uses support matrix revision ${head.policyRevision}, which this replica has not received yet (it has ${matrix.matrix.revision}); retry shortly`,
      );
    }
  }

  private async commit(id: string, revision: number, trigger: RevisionTrigger, plan: UpgradePlan, changes: string[], matrix: MatrixInForce, parameters?: PlanParameters): Promise<void> {
    const eventId = this.announce(id, revision, plan, changes);
    await this.plans.addRevision(id, {
      revision,
      trigger,
      plan,
      changes,
      policyRevision: plan.policyRevision,
      matrixSequence: matrix.sequence,
      matrixPublishedAt: matrix.publishedAt,
      eventId,
    });
    await this.plans.update(id, { currentRevision: revision, status: 'open', ...parameters });
    await this.plans.prune(id, revision, this.config.PLAN_REVISIONS_KEPT);
    this.remember(id, { revision, eventId, plan, fleetGeneration: this.fleet.generation, matrixSequence: matrix.sequence });
  }

  /** Emits UpgradePlanned for a revision (an outbox row in the current transaction); returns its id. */
  private announce(id: string, revision: number, plan: UpgradePlan, changes: readonly string[]): string {
    const draft = toUpgradePlannedData({ plan, revision, changes }, { maxBytes: this.config.PLAN_EVENT_MAX_BYTES, planHref: planHref(id) });
    if (draft.listedClusters < draft.totalClusters) {
      this.logger.warn({ msg: 'UpgradePlanned lists part of the plan (event size limit)', planId: id, revision, listed: draft.listedClusters, total: draft.totalClusters });
    }
    return this.unitOfWork.emit(UpgradePlanned, id, draft.data).id;
  }
}

/** A request the policy in force can never plan (unknown release, downgrade, no supported path) is refused, not stored. */
function assertPossible(parameters: PlanParameters, matrix: MatrixInForce): void {
  const route = resolveUpgradeRoute(parameters.fromRelease, parameters.toRelease, matrix.matrix, [], parameters.toVersion);
  if (route.ok) return;
  const { field, code, reason } = route.problem;
  throw new PlannerError('plan-impossible', `${field}: ${reason} (${code}, support matrix ${matrix.matrix.revision})`, { field, code });
}

/** True when the plan's latest revision was made with a newer matrix than the one in force here. */
export function isBehind(head: Pick<RevisionHead, 'matrixPublishedAt'>, matrix: Pick<MatrixInForce, 'publishedAt'>): boolean {
  return head.matrixPublishedAt !== null && (matrix.publishedAt === null || matrix.publishedAt < head.matrixPublishedAt);
}

function listItem(row: PlanEntity): PlanListItem {
  return {
    id: row.id,
    status: row.status,
    fromRelease: row.fromRelease,
    toRelease: row.toRelease,
    toVersion: row.toVersion ?? null,
    maxConcurrency: row.maxConcurrency,
    currentRevision: row.currentRevision,
    href: planHref(row.id),
  };
}
