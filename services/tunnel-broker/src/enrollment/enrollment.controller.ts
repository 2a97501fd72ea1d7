import { BadRequestException, Body, Controller, GoneException, Header, Inject, NotFoundException, Post, Req, type HttpException } from '@nestjs/common';
import { Public, type AuthenticatedRequest } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { EnrollmentBody } from '../http/session-requests.js';
import { EnrolledAnswer } from '../http/tunnel-answers.js';
import { CertificateRequestError } from '../pki/certificates.js';
import { EnrollmentService, type Enrolled } from './enrollment.service.js';
import { describeRefusal, type EnrollmentRefusal } from './registration.js';

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
  @ApiRequestBody(EnrollmentBody, {
    token: 'ftr_6Zb1yQ0c3Jk8vXw2',
    csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIHbMIGCAgEAMCAxHjAcBgNVBAMMFWZsb3RpbGxhLXR1bm5lbC1hZ2VudDBZ...\n-----END CERTIFICATE REQUEST-----\n',
    agentId: 'flotilla-tunnel-agent-7d9c5b6f4-x2kqp',
    agentVersion: '0.1.0',
  })
  @ApiAnswer(201, EnrolledAnswer, 'The certificate, the CA that signed it (and the listener), and where to dial')
  @ApiErrors({
    400: 'Invalid request: every bad field is named (csr: not a request, not signed by its key, not ECDSA P-256/P-384)',
    404: 'code token-unknown: no registration has this token',
    410: 'code token-used, token-expired or token-revoked',
  })
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
