import { Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access, Caller, type Principal } from '@flotilla/auth';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { CreateTokenBody, type TokenDescription } from './token-requests.js';
import { TokenIssuer, type SigningKeyDescription } from './token-issuer.js';

const ListTokensQuery = z.object({ expired: z.enum(['true', 'false']).default('false') });

/** Flotilla tokens: issued, listed and revoked by an admin. A token is shown once, when it is made. */
@ApiTags('tokens')
@ApiBearerAuth()
@Controller('api/v1/tokens')
@Access('admin')
export class TokensController {
  constructor(@Inject(TokenIssuer) private readonly issuer: TokenIssuer) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue a token with a role, an optional label scope and an expiry; the token is in this answer only' })
  @ApiBody({ schema: z.toJSONSchema(CreateTokenBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown> })
  @ApiResponse({ status: 201, description: 'The token (shown once) and its description' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  async create(@Caller() caller: Principal, @Body(new ZodValidationPipe(CreateTokenBody)) body: CreateTokenBody): Promise<{ token: string } & TokenDescription> {
    const { token, description } = await this.issuer.issue({ subject: body.subject, role: body.role, scope: body.scope, lifetimeMs: body.expiresIn, description: body.description }, caller.subject);
    return { token, ...description };
  }

  @Get()
  @ApiOperation({ summary: 'Tokens issued (never the tokens themselves); expired ones with ?expired=true' })
  @ApiQuery({ name: 'expired', required: false, enum: ['true', 'false'] })
  async list(@Query(new ZodValidationPipe(ListTokensQuery)) query: z.infer<typeof ListTokensQuery>): Promise<{ items: TokenDescription[] }> {
    return { items: await this.issuer.list(query.expired === 'true') };
  }

  @Get('signing-keys')
  @ApiOperation({ summary: 'The issuer signing keys: the active one and retired ones' })
  async keys(): Promise<{ items: SigningKeyDescription[] }> {
    return { items: await this.issuer.keys() };
  }

  @Post('signing-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Rotate the signing key: new tokens are signed with a new key; tokens already issued keep working until they expire' })
  async rotate(): Promise<{ kid: string }> {
    return this.issuer.rotate();
  }

  @Delete('signing-keys/:kid')
  @ApiOperation({ summary: 'Withdraw a retired signing key at once: every token it signed stops working (a key that may have leaked; rotate first)' })
  @ApiParam({ name: 'kid' })
  @ApiResponse({ status: 404, description: 'No such key' })
  @ApiResponse({ status: 409, description: 'The key still signs new tokens: rotate first' })
  async withdraw(@Param('kid') kid: string): Promise<SigningKeyDescription> {
    const outcome = await this.issuer.withdraw(kid);
    if (outcome === undefined) throw new NotFoundException(`signing key "${kid}" not found`);
    if (outcome === 'active') throw new ConflictException(`signing key "${kid}" still signs new tokens: rotate first (POST /api/v1/tokens/signing-keys)`);
    return outcome;
  }

  @Get(':id')
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'No such token' })
  async get(@Param('id') id: string): Promise<TokenDescription> {
    const found = await this.issuer.find(id);
    if (!found) throw new NotFoundException(`token "${id}" not found`);
    return found;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a token on every service within seconds' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'No such token' })
  async revoke(@Caller() caller: Principal, @Param('id') id: string): Promise<TokenDescription> {
    const revoked = await this.issuer.revoke(id, caller.subject);
    if (!revoked) throw new NotFoundException(`token "${id}" not found`);
    return revoked;
  }
}
