import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FleetCluster } from '@flotilla/contracts';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import type { FleetEntry } from '../domain/fleet-entry.js';
import { FleetView } from '../planning/fleet-view.js';
import { FleetRepository } from '../repositories/fleet.repository.js';
import { FleetEntryAnswer, FleetPageAnswer } from './answers.js';
import { FleetQuery } from './requests.js';

/** The planner's own view of the fleet: what plans are computed from. */
@ApiTags('fleet')
@Controller('api/v1/fleet')
export class FleetController {
  constructor(
    @Inject(FleetView) private readonly fleet: FleetView,
    @Inject(FleetRepository) private readonly entries: FleetRepository,
  ) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'The plannable clusters (planner input), sorted by id, a page at a time' })
  @ApiQueryParameters(FleetQuery)
  @ApiAnswer(200, FleetPageAnswer, 'A page of plannable clusters')
  @ApiErrors({ 400: 'Invalid limit or cursor' })
  async list(@Query(new ZodValidationPipe(FleetQuery)) query: FleetQuery): Promise<{ items: readonly FleetCluster[]; total: number; nextCursor: string | null }> {
    await this.fleet.refresh();
    const clusters = this.fleet.clusters();
    const start = query.cursor === undefined ? 0 : firstAfter(clusters, query.cursor);
    const items = clusters.slice(start, start + query.limit);
    return { items, total: clusters.length, nextCursor: start + query.limit < clusters.length ? (items.at(-1)?.id ?? null) : null };
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'One cluster as the facts describe it (nodes, deletion) and as the planner sees it' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, FleetEntryAnswer, 'The facts about the cluster and its plannable form')
  @ApiErrors({ 404: 'No fact about this cluster' })
  async get(@Param('id') id: string): Promise<{ entry: FleetEntry; plannable: FleetCluster | null }> {
    const entry = await this.entries.find(id);
    if (!entry) throw new NotFoundException(`no fact about cluster "${id}"`);
    await this.fleet.refresh();
    return { entry, plannable: this.fleet.get(id) ?? null };
  }
}

/** Index of the first cluster with an id after `cursor` (binary search: the list is sorted). */
function firstAfter(clusters: readonly FleetCluster[], cursor: string): number {
  let low = 0;
  let high = clusters.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (clusters[middle]!.id <= cursor) low = middle + 1;
    else high = middle;
  }
  return low;
}
