import { Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, BadRequestException } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiEmptyAnswer, ApiErrors, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { SshKeyAnswer } from './host-answers.js';
import { SSH_KEY_NAME_PATTERN, SshKeys, type SshKeyView } from './ssh-keys.js';

export const RegisterSshKeyBody = z.object({
  name: z.string({ error: 'is required' }).regex(SSH_KEY_NAME_PATTERN, 'must be 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit'),
  // The message never quotes the value: it is a private key.
  privateKey: z.string({ error: 'is required' }).min(1, 'is required').max(16_384, 'is longer than any SSH private key'),
});
export type RegisterSshKeyBody = z.infer<typeof RegisterSshKeyBody>;

/** Operators register the SSH private keys Flotilla uses to reach users' hosts. Key material never comes back out. */
@ApiTags('provisioner')
@Controller('api/v1/ssh-keys')
export class SshKeysController {
  constructor(@Inject(SshKeys) private readonly keys: SshKeys) {}

  @Post()
  @Access('admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Register an SSH private key (OpenSSH or PEM, unencrypted); hosts refer to it by the returned ref' })
  @ApiRequestBody(RegisterSshKeyBody, { name: 'rack-7', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\n(the unencrypted key file, e.g. from ssh-keygen -t ed25519 -N "")\n-----END OPENSSH PRIVATE KEY-----\n' })
  @ApiAnswer(201, SshKeyAnswer, 'ref, name, type and the SHA256 fingerprint of the public key')
  @ApiErrors({ 400: 'Bad name or not a usable private key (the field is named, the key never echoed)', 409: 'A key with this name exists' })
  async register(@Body(new ZodValidationPipe(RegisterSshKeyBody)) body: RegisterSshKeyBody): Promise<SshKeyView> {
    const result = await this.keys.register(body.name, body.privateKey);
    if (result.ok) return result.key;
    const problem = { field: result.field, message: result.message };
    const payload = { message: [`${problem.field}: ${problem.message}`], errors: [problem] };
    if (result.conflict) throw new ConflictException({ statusCode: 409, error: 'Conflict', ...payload });
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', ...payload });
  }

  @Get()
  @Access('admin')
  @ApiOperation({ summary: 'Registered SSH keys: ref, name, type, fingerprint (never the key)' })
  @ApiAnswer(200, z.array(SshKeyAnswer), 'Every registered key')
  @ApiErrors({ 503: 'The keys cannot be read now (the database does not answer)' })
  async list(): Promise<SshKeyView[]> {
    return this.keys.list();
  }

  @Delete(':ref')
  @Access('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Forget an SSH key' })
  @ApiParam({ name: 'ref' })
  @ApiEmptyAnswer(204, 'Forgotten')
  @ApiErrors({ 404: 'No SSH key with this ref' })
  async remove(@Param('ref') ref: string): Promise<void> {
    if (!(await this.keys.remove(ref))) throw new NotFoundException(`SSH key "${ref}" not found`);
  }
}
