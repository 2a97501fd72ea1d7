import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { UpgradePlan } from '@flotilla/contracts';
import type { PlanParameters } from '../domain/plan-revision.js';
import { PlanRevisionEntity, type RevisionTrigger } from '../entities/plan-revision.entity.js';
import { PlanEntity, type PlanStatus, type RequestedVia } from '../entities/plan.entity.js';

export type { PlanParameters };

/** A revision without the plan itself: what deciding whether to recompute needs. */
export interface RevisionHead {
  revision: number;
  policyRevision: string;
  matrixSequence: number;
  matrixPublishedAt: string | null;
  eventId: string;
}

export interface NewRevision extends RevisionHead {
  trigger: RevisionTrigger;
  plan: UpgradePlan;
  changes: string[];
}

export interface RevisionSummary extends RevisionHead {
  trigger: RevisionTrigger;
  satisfiable: boolean;
  summary: UpgradePlan['summary'];
  changes: string[];
  createdAt: string;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Plans and their revisions. Joins the caller's transaction when there is one. */
@Injectable()
export class PlanRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get plans() {
    return this.unitOfWork.manager.getRepository(PlanEntity);
  }

  private get revisions() {
    return this.unitOfWork.manager.getRepository(PlanRevisionEntity);
  }

  /** Locks the plan until the transaction ends: one writer of revisions per plan, across replicas. */
  async findForUpdate(id: string): Promise<PlanEntity | null> {
    return this.plans.createQueryBuilder('p').setLock('pessimistic_write').where('p.id = :id', { id }).getOne();
  }

  async find(id: string): Promise<PlanEntity | null> {
    return this.plans.findOneBy({ id });
  }

  /** Plans are few (one per global upgrade under consideration): no paging. */
  async list(): Promise<PlanEntity[]> {
    return this.plans.find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  async openPlanIds(): Promise<string[]> {
    const rows = await this.plans.find({ select: { id: true }, where: { status: 'open' }, order: { id: 'ASC' } });
    return rows.map((row) => row.id);
  }

  async create(id: string, parameters: PlanParameters, via: RequestedVia): Promise<void> {
    await this.plans.insert({ id, ...parameters, toVersion: parameters.toVersion ?? null, status: 'open', currentRevision: 0, requestedVia: via });
  }

  async update(id: string, changes: Partial<PlanParameters> & { status?: PlanStatus; currentRevision?: number }): Promise<void> {
    // A request without toVersion clears the one asked for before.
    const toVersion = 'fromRelease' in changes ? { toVersion: changes.toVersion ?? null } : {};
    await this.plans.update({ id }, { ...changes, ...toVersion, updatedAt: new Date() });
  }

  async addRevision(planId: string, revision: NewRevision): Promise<void> {
    await this.revisions.insert({
      planId,
      revision: revision.revision,
      trigger: revision.trigger,
      policyRevision: revision.policyRevision,
      matrixSequence: String(revision.matrixSequence),
      matrixPublishedAt: revision.matrixPublishedAt === null ? null : new Date(revision.matrixPublishedAt),
      satisfiable: revision.plan.satisfiable,
      summary: { ...revision.plan.summary },
      changes: revision.changes,
      // Level 1: 20 times smaller than the JSON, compressed off the event loop.
      planGz: await gzipAsync(JSON.stringify(revision.plan), { level: 1 }),
      eventId: revision.eventId,
    });
  }

  /** Drops the plan body of revisions older than the newest `kept`; their summaries and changes stay. */
  async prune(planId: string, latest: number, kept: number): Promise<void> {
    await this.revisions
      .createQueryBuilder()
      .update()
      .set({ planGz: null })
      .where('plan_id = :planId AND revision <= :upTo AND plan_gz IS NOT NULL', { planId, upTo: latest - kept })
      .execute();
  }

  async head(planId: string, revision: number): Promise<RevisionHead | undefined> {
    const entity = await this.revisions.findOne({
      select: { revision: true, policyRevision: true, matrixSequence: true, matrixPublishedAt: true, eventId: true },
      where: { planId, revision },
    });
    return entity ? toHead(entity) : undefined;
  }

  /** The stored plan; null when the revision exists but its plan was pruned. */
  async plan(planId: string, revision: number): Promise<UpgradePlan | null | undefined> {
    const entity = await this.revisions.findOne({ select: { planId: true, planGz: true }, where: { planId, revision } });
    if (!entity) return undefined;
    if (entity.planGz === null) return null;
    return JSON.parse((await gunzipAsync(entity.planGz)).toString('utf8')) as UpgradePlan;
  }

  async revisionSummary(planId: string, revision: number): Promise<RevisionSummary | undefined> {
    const entity = await this.revisions.findOne({ select: SUMMARY_COLUMNS, where: { planId, revision } });
    return entity ? toSummary(entity) : undefined;
  }

  /** Every revision, oldest first, without the plans themselves. */
  async history(planId: string): Promise<RevisionSummary[]> {
    const entities = await this.revisions.find({ select: SUMMARY_COLUMNS, where: { planId }, order: { revision: 'ASC' } });
    return entities.map(toSummary);
  }
}

const SUMMARY_COLUMNS = {
  revision: true,
  trigger: true,
  policyRevision: true,
  matrixSequence: true,
  matrixPublishedAt: true,
  eventId: true,
  satisfiable: true,
  summary: true,
  changes: true,
  createdAt: true,
} as const;

function toHead(entity: PlanRevisionEntity): RevisionHead {
  return {
    revision: entity.revision,
    policyRevision: entity.policyRevision,
    matrixSequence: Number(entity.matrixSequence),
    matrixPublishedAt: entity.matrixPublishedAt?.toISOString() ?? null,
    eventId: entity.eventId,
  };
}

function toSummary(entity: PlanRevisionEntity): RevisionSummary {
  return { ...toHead(entity), trigger: entity.trigger, satisfiable: entity.satisfiable, summary: entity.summary, changes: entity.changes, createdAt: entity.createdAt.toISOString() };
}
