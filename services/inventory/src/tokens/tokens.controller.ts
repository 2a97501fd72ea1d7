import { Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access, Caller, type Principal } from '@flotilla/auth';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { IssuedTokenAnswer, RotatedKeyAnswer, SigningKeyAnswer, SigningKeyListAnswer, TokenAnswer, TokenListAnswer } from './token-answers.js';
import { CreateTokenBody, type TokenDescription } from './token-requests.js';
import { TokenIssuer, type SigningKeyDescription } from './token-issuer.js';

const ListTokensQuery = z.object({ expired: z.enum(['true', 'false']).default('false') });

/** Flotilla tokens: issued, listed and revoked by an admin. A token is shown once, when it is made. */
@ApiTags('tokens')
@Controller('api/v1/tokens')
@Access('admin')
export class TokensController {
  constructor(@Inject(TokenIssuer) private readonly issuer: TokenIssuer) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue a token with a role, an optional label scope and an expiry; the token is in this answer only' })
  @ApiRequestBody(CreateTokenBody, { subject: 'ci-payments', role: 'operator', scope: { labels: { team: 'payments' } }, expiresIn: '30d', description: 'CI of the payments team' })
  @ApiAnswer(201, IssuedTokenAnswer, 'The token (shown once) and its description')
  @ApiErrors({ 400: 'Invalid request: every bad field is named' })
  async create(@Caller() caller: Principal, @Body(new ZodValidationPipe(CreateTokenBody)) body: CreateTokenBody): Promise<{ token: string } & TokenDescription> {
    const { token, description } = await this.issuer.issue({ subject: body.subject, role: body.role, scope: body.scope, lifetimeMs: body.expiresIn, description: body.description }, caller.subject);
    return { token, ...description };
  }

  @Get()
  @ApiOperation({ summary: 'Tokens issued (never the tokens themselves); expired ones with ?expired=true' })
  @ApiQueryParameters(ListTokensQuery)
  @ApiAnswer(200, TokenListAnswer, 'The tokens issued, described')
  @ApiErrors({ 400: 'expired is neither true nor false' })
  async list(@Query(new ZodValidationPipe(ListTokensQuery)) query: z.infer<typeof ListTokensQuery>): Promise<{ items: TokenDescription[] }> {
    return { items: await this.issuer.list(query.expired === 'true') };
  }

  @Get('signing-keys')
  @ApiOperation({ summary: 'The issuer signing keys: the active one and retired ones' })
  @ApiAnswer(200, SigningKeyListAnswer, 'Every signing key')
  @ApiErrors({ 503: 'The keys cannot be read now (the database does not answer)' })
  async keys(): Promise<{ items: SigningKeyDescription[] }> {
    return { items: await this.issuer.keys() };
  }

  @Post('signing-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Rotate the signing key: new tokens are signed with a new key; tokens already issued keep working until they expire' })
  @ApiAnswer(201, RotatedKeyAnswer, 'The new signing key')
  @ApiErrors({ 503: 'The key could not be stored or published now' })
  async rotate(): Promise<{ kid: string }> {
    return this.issuer.rotate();
  }

  @Delete('signing-keys/:kid')
  @ApiOperation({ summary: 'Withdraw a retired signing key at once: every token it signed stops working (a key that may have leaked; rotate first)' })
  @ApiParam({ name: 'kid' })
  @ApiAnswer(200, SigningKeyAnswer, 'Withdrawn')
  @ApiErrors({ 404: 'No such key', 409: 'The key still signs new tokens: rotate first' })
  async withdraw(@Param('kid') kid: string): Promise<SigningKeyDescription> {
    const outcome = await this.issuer.withdraw(kid);
    if (outcome === undefined) throw new NotFoundException(`signing key "${kid}" not found`);
    if (outcome === 'active') throw new ConflictException(`signing key "${kid}" still signs new tokens: rotate first (POST /api/v1/tokens/signing-keys)`);
    return outcome;
  }

  @Get(':id')
  @ApiOperation({ summary: 'One token, described (never the token itself)' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, TokenAnswer, 'The token, described')
  @ApiErrors({ 404: 'No such token' })
  async get(@Param('id') id: string): Promise<TokenDescription> {
    const found = await this.issuer.find(id);
    if (!found) throw new NotFoundException(`token "${id}" not found`);
    return found;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a token on every service within seconds' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, TokenAnswer, 'Revoked')
  @ApiErrors({ 404: 'No such token' })
  async revoke(@Caller() caller: Principal, @Param('id') id: string): Promise<TokenDescription> {
    const revoked = await this.issuer.revoke(id, caller.subject);
    if (!revoked) throw new NotFoundException(`token "${id}" not found`);
    return revoked;
  }
}
