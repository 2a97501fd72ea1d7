/** Where an agent enrolls, under Flotilla's one address (the tunnel broker answers). */
export const ENROLLMENT_PATH = '/api/v1/tunnels/enrollments';

/** What an agent sends: its one-time token, a certificate request for a key it keeps, who it is. */
export interface EnrollmentBody {
  token: string;
  csr: string;
  agentId: string;
  agentVersion: string;
}

/** What it gets: its cluster's client certificate, the CA that signed it (and the listener), where to dial. */
export interface Enrolled {
  clusterId: string;
  certificate: string;
  caCertificate: string;
  /** `host:port` of the agents' listener (mutual TLS). */
  tunnelAddress: string;
  expiresAt: string;
}
