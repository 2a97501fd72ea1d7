import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, HttpCode, HttpException, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { httpStatusOf, PlannerError } from '../domain/errors.js';
import { PlanService, type PlanListItem, type PlanView } from '../planning/plan.service.js';
import type { RevisionSummary } from '../repositories/plan.repository.js';
import { PlanAnswer, PlanListAnswer, PlanListItemAnswer, PlanRevisionsAnswer, PlanTableAnswer } from './answers.js';
import { CreatePlanBody, RevisionQuery } from './requests.js';

/** The one thing the table needs from the HTTP response. */
interface HeaderSettable {
  setHeader(name: string, value: string): unknown;
}

/** Turns a planner failure into its HTTP status, with the code in the body. */
async function answer<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof PlannerError) {
      const status = httpStatusOf(error.code);
      const problem = error.problem ? { errors: [{ field: error.problem.field, code: error.problem.code, message: error.message }] } : {};
      throw new HttpException({ statusCode: status, code: error.code, message: error.message, ...problem }, status);
    }
    throw error;
  }
}

@ApiTags('upgrade-plans')
@Controller('api/v1/upgrade-plans')
export class UpgradePlansController {
  constructor(@Inject(PlanService) private readonly plans: PlanService) {}

  /**
   * Plans synchronously: planning even 100,000 clusters takes a fraction of a second, so the
   * caller gets the plan (revision 1) at once. UpgradePlanned is emitted in the same transaction.
   */
  @Post()
  @Access('operator')
  @HttpCode(201)
  @ApiOperation({ summary: 'Plan upgrading the global cluster from one platform release to another' })
  @ApiRequestBody(CreatePlanBody, { fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 5 })
  @ApiAnswer(201, PlanAnswer, 'The plan, revision 1; open: recomputed when the fleet or the support matrix changes')
  @ApiErrors({
    400: 'Invalid request: every bad field is named; an impossible upgrade (code plan-impossible: unknown release, a downgrade, no supported path) names the field and the rule, and no plan is stored',
    503: 'code matrix-behind: this replica has not yet received the support-matrix revision in force; retry',
  })
  async create(@Body(new ZodValidationPipe(CreatePlanBody)) body: CreatePlanBody): Promise<PlanView> {
    const id = `plan-${randomBytes(5).toString('hex')}`;
    return answer(this.plans.request(id, body, 'http').then(() => this.plans.view(id)));
  }

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Every plan, newest first' })
  @ApiAnswer(200, PlanListAnswer, 'Every plan')
  @ApiErrors({ 503: 'The plans cannot be read now (the database does not answer)' })
  async list(): Promise<{ items: PlanListItem[] }> {
    return { items: await this.plans.list() };
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'A plan revision (the current one unless ?revision=) as JSON' })
  @ApiParam({ name: 'id' })
  @ApiQueryParameters(RevisionQuery)
  @ApiAnswer(200, PlanAnswer, 'The plan revision')
  @ApiErrors({ 400: 'Invalid revision', 404: 'code plan-not-found or revision-not-found', 410: 'code revision-pruned: only its summary and changes are kept (GET .../revisions)' })
  async get(@Param('id') id: string, @Query(new ZodValidationPipe(RevisionQuery)) query: RevisionQuery): Promise<PlanView> {
    return answer(this.plans.view(id, query.revision));
  }

  @Get(':id/table')
  @Access('viewer')
  @ApiOperation({ summary: 'A plan revision as a table like `clusterctl upgrade plan`: cluster, model, current, target, path, action, reason' })
  @ApiParam({ name: 'id' })
  @ApiQueryParameters(RevisionQuery)
  @ApiAnswer(200, PlanTableAnswer, 'The table, one line a cluster', 'text/plain')
  @ApiErrors({ 400: 'Invalid revision', 404: 'code plan-not-found or revision-not-found', 410: 'code revision-pruned: only its summary and changes are kept' })
  async table(@Param('id') id: string, @Query(new ZodValidationPipe(RevisionQuery)) query: RevisionQuery, @Res({ passthrough: true }) response: HeaderSettable): Promise<string> {
    const text = await answer(this.plans.table(id, query.revision));
    // Set here rather than with @Header: a 404 stays JSON.
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    return text;
  }

  @Get(':id/revisions')
  @Access('viewer')
  @ApiOperation({ summary: 'Every revision of a plan, oldest first: trigger, matrix revision, summary and changes' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, PlanRevisionsAnswer, 'Every revision, oldest first')
  @ApiErrors({ 404: 'code plan-not-found' })
  async revisions(@Param('id') id: string): Promise<{ id: string; revisions: RevisionSummary[] }> {
    return { id, revisions: await answer(this.plans.revisions(id)) };
  }

  @Post(':id/close')
  @Access('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close a plan: it keeps its revisions and is no longer recomputed (a new request for the id reopens it)' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, PlanListItemAnswer, 'The plan, closed')
  @ApiErrors({ 404: 'code plan-not-found' })
  async close(@Param('id') id: string): Promise<PlanListItem> {
    return answer(this.plans.close(id));
  }
}
