import { BadRequestException, Body, Controller, GoneException, Header, Inject, NotFoundException, Post, Req, type HttpException } from '@nestjs/common';
import { Public, type AuthenticatedRequest } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { EnrollmentBody } from '../http/session-requests.js';
import { CertificateRequestError } from '../pki/certificates.js';
import { EnrollmentService, type Enrolled } from './enrollment.service.js';
import { describeRefusal, type EnrollmentRefusal } from './registration.js';

const bodySchema = z.toJSONSchema(EnrollmentBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

function refusalError(reason: EnrollmentRefusal): HttpException {
  const body = { code: reason, message: describeRefusal(reason) };
  switch (reason) {
    case 'token-unknown':
      return new NotFoundException({ statusCode: 404, error: 'Not Found', ...body });
    case 'token-expired':
    case 'token-revoked':
    case 'token-used':
      return new GoneException({ statusCode: 410, error: 'Gone', ...body });
  }
}

@ApiTags('tunnels')
@Controller('api/v1/tunnels/enrollments')
export class EnrollmentController {
  constructor(@Inject(EnrollmentService) private readonly enrollment: EnrollmentService) {}

  @Post()
  @Public('the registration token in the body is the credential: it is accepted once, then the agent holds a client certificate')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "An agent presents its one-time registration token and a certificate request; it gets its cluster's client certificate" })
  @ApiBody({ schema: bodySchema })
  @ApiResponse({ status: 201, description: 'The certificate, the CA that signed it (and the listener), and where to dial' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named (csr: not a request, not signed by its key, not ECDSA P-256/P-384)' })
  @ApiResponse({ status: 404, description: 'token-unknown' })
  @ApiResponse({ status: 410, description: 'token-used, token-expired or token-revoked' })
  async enroll(@Body(new ZodValidationPipe(EnrollmentBody)) body: EnrollmentBody, @Req() request: AuthenticatedRequest): Promise<Enrolled> {
    let outcome;
    try {
      outcome = await this.enrollment.enroll(body);
    } catch (error) {
      if (!(error instanceof CertificateRequestError)) throw error;
      const problem = { field: 'csr', message: error.message };
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [`${problem.field}: ${problem.message}`], errors: [problem] });
    }
    if (!outcome.ok) {
      // Every refusal is audited with the cluster the token belongs to, when it names one.
      request.audit = { ...request.audit, refusal: `registration token refused: ${outcome.reason}`, ...(outcome.clusterId ? { clusterId: outcome.clusterId } : {}) };
      throw refusalError(outcome.reason);
    }
    request.audit = { ...request.audit, clusterId: outcome.enrolled.clusterId };
    return outcome.enrolled;
  }
}
