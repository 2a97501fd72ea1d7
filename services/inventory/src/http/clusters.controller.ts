import { Body, ConflictException, Controller, Delete, Get, Header, HttpCode, Inject, NotFoundException, Param, Post, Query, Redirect, Req } from '@nestjs/common';
import { Access, Caller, forbidOutOfScope, inScope, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ClusterDeletionRequested, clusterIdFor, ClusterRequested, NodePoolScaleRequested, UpgradeStepApproved, type EventData, type EventDefinition } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ApiRedirect, ApiRequestBody, PolicyInForce, ZodValidationPipe } from '@flotilla/service-kit';
import { beingDeleted, emptyView, type ClusterView } from '../domain/cluster-view.js';
import { ClusterListing, type ClusterPageJson } from '../repositories/cluster-listing.js';
import { ClusterRepository, decodeHistoryCursor, type HistoryItem } from '../repositories/cluster.repository.js';
import { ClusterCreatedAnswer, ClusterDetailAnswer, ClusterPageAnswer, CommandAcceptedAnswer, HistoryPageAnswer, type HistoryLine } from './cluster-answers.js';
import { idTaken, refuseCommand, refusalMessage } from './cluster-commands.js';
import { CLUSTER_REQUEST_EXAMPLES } from './cluster-examples.js';
import { kubeconfigRedirect } from './kubeconfig-redirect.js';
import { creationProblems, refuseByPolicy, upgradeStepProblems } from './policy-admission.js';
import {
  ApproveUpgradeStepBody,
  ClusterHistoryQuery,
  CreateClusterBody,
  DeleteClusterBody,
  DeleteClusterQuery,
  ListClustersQuery,
  ScaleNodePoolBody,
  type CommandAccepted,
} from './cluster-requests.js';

const historyLine = ({ clusterId: _clusterId, time, ...entry }: HistoryItem): HistoryLine => ({ ...entry, time: time.toISOString() });

const NOT_FOUND = 'No such cluster';
const GONE_OR_GOING = 'The cluster is deleted or being deleted';

@ApiTags('clusters')
@Controller('api/v1/clusters')
export class ClustersController {
  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(ClusterListing) private readonly listing: ClusterListing,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(PolicyInForce) private readonly policy: PolicyInForce,
  ) {}

  @Get()
  @Access('viewer', { scoped: true })
  @ApiOperation({
    summary: 'List the fleet, filtered and sorted, a page at a time: `{ items, total, nextCursor }`',
    description:
      'Each item is a cluster as in GET /api/v1/clusters/{id}, without its history. `access` says how the platform reaches its API server: `tunnel` (registered behind a firewall: through the tunnel its agent dials out; `tunnel` is then `connected` or `disconnected` as the tunnel broker last reported, null before its agent first connected), `direct` (at its own address), or null while not known. ' +
      'Filters combine (AND). Pages are keyset-paginated on the sort key and the id: `nextCursor` (null on the last page) is valid for the same sort and order only, and a page costs the same at any depth; clusters added meanwhile never make a page skip or repeat one. `total` counts every cluster matching the filters (all pages), from the counts the inventory maintains as it projects: no call counts the fleet. Sorting by `updated`, `status` or `version`, a cluster that changes between two pages may move past the cursor or behind it. A label-scoped caller sees only the clusters of its scope, in the items and in the total.',
  })
  @ApiQueryParameters(ListClustersQuery)
  @ApiAnswer(200, ClusterPageAnswer, 'A page of clusters')
  @ApiErrors({ 400: 'Invalid filter, sort, limit or cursor (a cursor of another sort or order), named' })
  // The page is JSON text already (PostgreSQL built it): sent as it is.
  @Header('Content-Type', 'application/json; charset=utf-8')
  async list(@Caller() caller: Principal, @Query(new ZodValidationPipe(ListClustersQuery)) query: ListClustersQuery): Promise<ClusterPageJson> {
    const { sort, order, limit, cursor, ...filters } = query;
    return this.listing.list({ ...filters, ...(caller.scope ? { scope: caller.scope.labels } : {}) }, sort, order, limit, cursor);
  }

  @Get(':id')
  @Access('viewer', { scoped: true })
  @ApiOperation({
    summary:
      'One cluster: its state and nodes, the requests waiting for their owner, the last refusal with its reasons, the owner\'s progress, and the newest page of its history (with trace ids)',
    description:
      '`access`: `tunnel` for a cluster registered behind a firewall (reached through the tunnel its agent dials out), `direct` for one reached at its own address, null while not known. `tunnel`: `connected` or `disconnected` as the tunnel broker last reported (null before its agent first connected). A registered cluster is `Importing` from its registration on, with the registration in `pendingRequests` (type `TunnelRegistrationIssued`) until its agent enrolls; then the import through the tunnel is pending until the importer answers. A registration revoked before its agent enrolled leaves the cluster `Rejected` (reason `registration-revoked`).',
  })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, ClusterDetailAnswer, 'The cluster with the newest page of its history')
  @ApiErrors({ 404: NOT_FOUND })
  // The detail is JSON text already (PostgreSQL built it): sent as it is.
  @Header('Content-Type', 'application/json; charset=utf-8')
  async get(@Caller() caller: Principal, @Param('id') id: string): Promise<string> {
    const found = await this.clusters.detail(id, 50);
    if (!found) throw new NotFoundException(`cluster "${id}" not found`);
    if (!inScope(caller, found.labels)) forbidOutOfScope(caller, id);
    return found.json;
  }

  @Get(':id/history')
  @Access('viewer', { scoped: true })
  @ApiOperation({ summary: "A cluster's history, newest first, a page at a time: `{ items, nextCursor }`" })
  @ApiParam({ name: 'id' })
  @ApiQueryParameters(ClusterHistoryQuery)
  @ApiAnswer(200, HistoryPageAnswer, 'A page of history, newest first')
  @ApiErrors({ 400: 'Invalid limit or cursor', 404: NOT_FOUND })
  async history(
    @Caller() caller: Principal,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(ClusterHistoryQuery)) query: ClusterHistoryQuery,
  ): Promise<{ items: HistoryLine[]; nextCursor: string | null }> {
    await this.readable(caller, id);
    const cursor = query.cursor === undefined ? undefined : decodeHistoryCursor(query.cursor);
    const page = await this.clusters.history(id, query.limit, cursor);
    return { items: page.items.map(historyLine), nextCursor: page.nextCursor };
  }

  @Get(':id/kubeconfig')
  @Access('operator', { scoped: true })
  @Redirect()
  @ApiOperation({
    summary: 'A kubeconfig for a cluster: 307 to the service that makes it, on the same origin',
    description:
      "The provisioner for platform-provisioned, user-provisioned and hosted clusters (`/api/v1/provisioner/clusters/{id}/kubeconfig`: a short-lived client certificate signed by the cluster CA), the importer for connected and public-cloud ones (`/api/v1/connected-clusters/{id}/kubeconfig`: the caller's token, through the importer's proxy or the tunnel broker's). The owner checks the caller again and audits what it hands out. Clients follow the redirect with the same Authorization header (same origin).",
  })
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'ttl', required: false, schema: { type: 'string' }, description: 'Passed on: how long a client certificate lasts (5m to 24h: `30m`, `2h`)' })
  @ApiRedirect(307, "To the owner's kubeconfig route, on the same origin", "The owner's kubeconfig route, with the query: /api/v1/provisioner/clusters/{id}/kubeconfig or /api/v1/connected-clusters/{id}/kubeconfig")
  @ApiErrors({ 404: NOT_FOUND, 409: '`code` `cluster-deleted`, or `model-unknown` (no owner has said what the cluster is yet)' })
  async kubeconfig(@Caller() caller: Principal, @Req() request: AuthenticatedRequest, @Param('id') id: string): Promise<{ url: string; statusCode: number }> {
    const cluster = await this.readable(caller, id);
    const url = request.originalUrl ?? request.url;
    const redirect = kubeconfigRedirect(cluster, url.includes('?') ? url.slice(url.indexOf('?')) : '');
    if (!redirect.ok) throw new ConflictException({ statusCode: 409, error: 'Conflict', code: redirect.code, message: redirect.message });
    return { url: redirect.location, statusCode: 307 };
  }

  /** The cluster, if it exists and the caller's scope covers it. */
  private async readable(caller: Principal, id: string): Promise<ClusterView> {
    const cluster = await this.clusters.find(id);
    if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
    if (!inScope(caller, cluster.labels)) forbidOutOfScope(caller, id);
    return cluster;
  }

  /**
   * Validates the request and emits ClusterRequested through the outbox; the provisioner takes
   * it from there. The cluster appears at once as Pending, and its id can never be taken twice.
   */
  @Post()
  @Access('operator', { scoped: true })
  @HttpCode(202)
  @ApiOperation({ summary: 'Request a new cluster: platform-managed (the provisioner answers) or public-cloud at EKS, AKS or GKE (model public-cloud: the importer answers)' })
  @ApiRequestBody(CreateClusterBody, CLUSTER_REQUEST_EXAMPLES['platform-provisioned'].value, {
    more: {
      'user-provisioned': CLUSTER_REQUEST_EXAMPLES['user-provisioned'],
      'hosted-control-plane': CLUSTER_REQUEST_EXAMPLES['hosted-control-plane'],
      'public-cloud': CLUSTER_REQUEST_EXAMPLES['public-cloud'],
    },
  })
  @ApiAnswer(202, ClusterCreatedAnswer, 'Accepted: provisioning follows asynchronously')
  @ApiErrors({
    400: 'Invalid request: every bad field is named, and every rule of the version policy in force it breaks (code, release, support-matrix revision, provenance)',
    409: "The id is taken: `code` `cluster-exists` (a cluster has it), or `cluster-id-deleted` (a deleted cluster had it: ids are never reused for a new platform-managed cluster, since the provisioner keeps the deleted cluster's record under it; a deleted connected cluster's id can be imported again through the importer). The message says which, and what to do.",
  })
  async create(
    @Caller() caller: Principal,
    @Req() request: AuthenticatedRequest,
    @Body(new ZodValidationPipe(CreateClusterBody)) body: CreateClusterBody,
  ): Promise<{ id: string; status: 'Pending'; href: string }> {
    const { id: requestedId, ...spec } = body;
    const id = requestedId ?? clusterIdFor(spec.name);
    noteAuditTarget(request, id);
    // A label-scoped caller creates clusters inside its scope only: the labels must say so.
    if (!inScope(caller, spec.labels)) forbidOutOfScope(caller, id);
    // What the policy in force (the provisioner's too) already refuses is answered now, not after a 202.
    refuseByPolicy(creationProblems(spec.kubernetesVersion, this.policy.current()));
    await this.unitOfWork.run(async () => {
      const now = new Date().toISOString();
      const created = await this.clusters.insertIfAbsent({
        ...emptyView(id, now),
        name: spec.name,
        model: spec.model,
        labels: spec.labels ?? {},
        kubernetesVersion: spec.kubernetesVersion,
        access: 'direct',
        provider: spec.cloud?.provider ?? spec.infrastructure?.provider ?? null,
        region: spec.cloud?.region ?? null,
      });
      if (!created) throw new ConflictException(idTaken(id, await this.clusters.find(id)));
      this.unitOfWork.emit(ClusterRequested, id, spec);
    });
    return { id, status: 'Pending', href: `/api/v1/clusters/${id}` };
  }

  @Post(':id/node-pools/:pool/scale')
  @Access('operator', { scoped: true })
  @HttpCode(202)
  @ApiOperation({ summary: 'Scale one node pool of a platform-managed or public-cloud cluster (NodePoolScaleRequested)' })
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'pool', description: 'Name of the node pool, as in the cluster request' })
  @ApiRequestBody(ScaleNodePoolBody, { count: 5 })
  @ApiAnswer(202, CommandAcceptedAnswer, "Accepted: the cluster's owner (the provisioner, or the importer for a public-cloud cluster) scales the pool, or refuses on the bus (EventRejected)")
  @ApiErrors({ 400: 'Invalid request: every bad field is named', 404: NOT_FOUND, 409: GONE_OR_GOING })
  async scale(
    @Caller() caller: Principal,
    @Param('id') id: string,
    @Param('pool') pool: string,
    @Body(new ZodValidationPipe(ScaleNodePoolBody)) body: ScaleNodePoolBody,
  ): Promise<CommandAccepted> {
    return this.command(caller, id, NodePoolScaleRequested, { pool, ...body });
  }

  @Delete(':id')
  @Access('operator', { scoped: true })
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Delete a cluster (ClusterDeletionRequested): a platform-managed one has every machine drained and released; a public-cloud one has its node groups and control plane deleted at its cloud; a connected one stops being managed (its stored credential released, its tunnel agent revoked)',
    description:
      'The request is pending on the cluster until its owner (the provisioner, or the importer for a connected or public-cloud cluster) answers: ClusterDeleted, or a refusal shown in `lastRefusal`, after which the cluster takes commands again.',
  })
  @ApiParam({ name: 'id' })
  @ApiQueryParameters(DeleteClusterQuery)
  @ApiRequestBody(DeleteClusterQuery, { reason: 'replaced by prod-eu-2' }, { required: false })
  @ApiAnswer(202, CommandAcceptedAnswer, "Accepted: ClusterDeleted follows when the last machine is released (at once for a connected cluster), or the owner's refusal")
  @ApiErrors({ 400: 'Invalid request: every bad field is named', 404: NOT_FOUND, 409: GONE_OR_GOING })
  async delete(
    @Caller() caller: Principal,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(DeleteClusterBody)) body: DeleteClusterBody,
    @Query(new ZodValidationPipe(DeleteClusterQuery)) query: DeleteClusterQuery,
  ): Promise<CommandAccepted> {
    const reason = body?.reason ?? query.reason;
    return this.command(caller, id, ClusterDeletionRequested, reason === undefined ? {} : { reason });
  }

  @Post(':id/upgrades')
  @Access('operator', { scoped: true })
  @HttpCode(202)
  @ApiOperation({ summary: 'Approve one step of an upgrade plan for a cluster (UpgradeStepApproved)' })
  @ApiParam({ name: 'id' })
  @ApiRequestBody(ApproveUpgradeStepBody, { planId: 'plan-3f9a1c2b7d', toVersion: '1.35' })
  @ApiAnswer(202, CommandAcceptedAnswer, 'Accepted: ClusterUpgraded follows, or UpgradeStepFailed with every reason')
  @ApiErrors({
    400: 'Invalid request: every bad field is named; a step that skips a minor, goes back or leaves the compatible versions of the release in force names the rule',
    404: NOT_FOUND,
    409: GONE_OR_GOING,
  })
  async approveUpgradeStep(@Caller() caller: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(ApproveUpgradeStepBody)) body: ApproveUpgradeStepBody): Promise<CommandAccepted> {
    const cluster = await this.clusters.find(id);
    // Judged only for a caller who may see the cluster; the rest (404, 403, 409) is the command's.
    if (cluster?.kubernetesVersion && inScope(caller, cluster.labels)) refuseByPolicy(upgradeStepProblems(cluster.kubernetesVersion, body.toVersion, this.policy.current()));
    return this.command(caller, id, UpgradeStepApproved, body);
  }

  /**
   * Emits a command about a known cluster through the outbox, unless the read model shows the
   * cluster gone or going; the provisioner decides the rest and answers on the bus.
   */
  private async command<D extends EventDefinition>(caller: Principal, id: string, definition: D, data: EventData<D>): Promise<CommandAccepted> {
    const event = await this.unitOfWork.run(async () => {
      const cluster = await this.clusters.find(id);
      if (!cluster) throw new NotFoundException(`cluster "${id}" not found`);
      if (!inScope(caller, cluster.labels)) forbidOutOfScope(caller, id);
      // Once projected, a deletion request is pending until its owner answers: removed, or refused
      // (then the cluster takes commands again, and its next deletion request, once more).
      const refusal = refuseCommand(cluster.status, beingDeleted(cluster));
      if (refusal) throw new ConflictException(refusalMessage(id, refusal));
      return this.unitOfWork.emit(definition, id, data);
    });
    return { eventId: event.id, clusterId: id, href: `/api/v1/clusters/${id}` };
  }
}
