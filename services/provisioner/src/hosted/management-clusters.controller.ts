import { Body, ConflictException, Controller, Get, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiPathParameters, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { EXAMPLE_CA_CERTIFICATE, ManagementClusterAnswer } from './hosted-answers.js';
import { ManagementClusterPath, RegisterManagementClusterBody, UpdateManagementClusterBody } from './management-cluster.js';
import { ManagementClusterRegistry, type ManagementClusterView } from './management-cluster-registry.js';

/** For operators: the management clusters hosted control planes run on. */
@ApiTags('hosted control planes')
@Controller('api/v1/management-clusters')
export class ManagementClustersController {
  constructor(@Inject(ManagementClusterRegistry) private readonly registry: ManagementClusterRegistry) {}

  @Post()
  @Access('admin')
  @ApiOperation({ summary: 'Registers a management cluster and the capacity hosted control planes may take of it' })
  @ApiRequestBody(RegisterManagementClusterBody, {
    name: 'mgmt-eu-1',
    apiEndpoint: 'https://mgmt-eu-1.example.com:6443',
    ingressDomain: 'cp.eu-1.example.com',
    credentials: { certificateAuthority: EXAMPLE_CA_CERTIFICATE, token: 'eyJhbGciOiJSUzI1NiJ9.c2VydmljZWFjY291bnQ6ZmxvdGlsbGE.c2lnbmF0dXJl' },
    capacity: { cpuMillicores: 64_000, memoryBytes: 256 * 1024 ** 3, maxControlPlanes: 40 },
    labels: { region: 'eu-1' },
  })
  @ApiAnswer(201, ManagementClusterAnswer, 'Registered')
  @ApiErrors({ 400: 'Invalid request: every bad field is named', 409: 'code already-registered: a management cluster of that name is registered already' })
  async register(@Body(new ZodValidationPipe(RegisterManagementClusterBody)) body: RegisterManagementClusterBody): Promise<ManagementClusterView> {
    const result = await this.registry.register(body);
    if (!result.ok) throw new ConflictException({ statusCode: 409, error: 'Conflict', code: result.code, message: `management cluster "${body.name}" is registered already` });
    return result.managementCluster;
  }

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Every management cluster with its capacity, what is used and free, and the control planes on it' })
  @ApiAnswer(200, z.array(ManagementClusterAnswer), 'Every management cluster')
  @ApiErrors({ 503: 'The management clusters cannot be read now (the database does not answer)' })
  async list(): Promise<ManagementClusterView[]> {
    return this.registry.list();
  }

  @Patch(':name')
  @Access('admin')
  @ApiOperation({ summary: 'Cordons or uncordons a management cluster, changes its capacity (never below what is reserved) or replaces its labels' })
  @ApiPathParameters(ManagementClusterPath)
  @ApiRequestBody(UpdateManagementClusterBody, { state: 'cordoned' })
  @ApiAnswer(200, ManagementClusterAnswer, 'Updated')
  @ApiErrors({
    400: 'Invalid request: every bad field is named',
    404: 'code not-found: no such management cluster',
    409: 'The new capacity is below what hosted control planes hold (code capacity-below-reserved, with the shortfalls)',
  })
  async update(
    @Param(new ZodValidationPipe(ManagementClusterPath)) path: ManagementClusterPath,
    @Body(new ZodValidationPipe(UpdateManagementClusterBody)) body: UpdateManagementClusterBody,
  ): Promise<ManagementClusterView> {
    const result = await this.registry.update(path.name, body);
    if (result.ok) return result.managementCluster;
    switch (result.code) {
      case 'not-found':
        throw new NotFoundException({ statusCode: 404, error: 'Not Found', code: result.code, message: `management cluster "${path.name}" is not registered` });
      case 'capacity-below-reserved':
        throw new ConflictException({ statusCode: 409, error: 'Conflict', code: result.code, message: result.message, shortfalls: result.shortfalls });
    }
  }
}
