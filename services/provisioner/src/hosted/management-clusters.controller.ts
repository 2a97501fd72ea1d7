import { Body, ConflictException, Controller, Get, Inject, NotFoundException, Param, Patch, Post } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { ManagementClusterPath, RegisterManagementClusterBody, UpdateManagementClusterBody } from './management-cluster.js';
import { ManagementClusterRegistry, type ManagementClusterView } from './management-cluster-registry.js';

const registerSchema = z.toJSONSchema(RegisterManagementClusterBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;
const updateSchema = z.toJSONSchema(UpdateManagementClusterBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

/** For operators: the management clusters hosted control planes run on. */
@ApiTags('hosted control planes')
@Controller('api/v1/management-clusters')
export class ManagementClustersController {
  constructor(@Inject(ManagementClusterRegistry) private readonly registry: ManagementClusterRegistry) {}

  @Post()
  @Access('admin')
  @ApiOperation({ summary: 'Registers a management cluster and the capacity hosted control planes may take of it' })
  @ApiBody({ schema: registerSchema })
  @ApiResponse({ status: 201, description: 'Registered' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  @ApiResponse({ status: 409, description: 'A management cluster of that name is registered already' })
  async register(@Body(new ZodValidationPipe(RegisterManagementClusterBody)) body: RegisterManagementClusterBody): Promise<ManagementClusterView> {
    const result = await this.registry.register(body);
    if (!result.ok) throw new ConflictException({ statusCode: 409, error: 'Conflict', code: result.code, message: `management cluster "${body.name}" is registered already` });
    return result.managementCluster;
  }

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Every management cluster with its capacity, what is used and free, and the control planes on it' })
  async list(): Promise<ManagementClusterView[]> {
    return this.registry.list();
  }

  @Patch(':name')
  @Access('admin')
  @ApiOperation({ summary: 'Cordons or uncordons a management cluster, changes its capacity (never below what is reserved) or replaces its labels' })
  @ApiParam({ name: 'name' })
  @ApiBody({ schema: updateSchema })
  @ApiResponse({ status: 200, description: 'Updated' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  @ApiResponse({ status: 404, description: 'No such management cluster' })
  @ApiResponse({ status: 409, description: 'The new capacity is below what hosted control planes hold (code capacity-below-reserved, with the numbers)' })
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
