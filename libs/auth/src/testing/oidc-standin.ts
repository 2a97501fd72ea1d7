import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl. */
export function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-standin-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=oidc-standin', '-days', '2', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface IssuerKey {
  kid: string;
  privateKey: PrivateKey;
  publicJwk: JWK;
}

/**
 * An OpenID Connect issuer over real HTTPS, as a test needs one: a discovery document, a JWKS
 * endpoint that counts its fetches, RS256 signing keys that can be rotated, and tokens.
 */
export class OidcStandIn {
  readonly jwksFetches: string[] = [];
  private keys: IssuerKey[] = [];

  private constructor(
    private readonly server: Server,
    readonly ca: string,
  ) {}

  static async start(): Promise<OidcStandIn> {
    const tls = selfSignedCertificate();
    const self: { standIn?: OidcStandIn } = {};
    const server = createServer(tls, (request, response) => {
      const standIn = self.standIn!;
      const issuer = standIn.issuer;
      if (request.url === '/.well-known/openid-configuration') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
      } else if (request.url === '/keys') {
        standIn.jwksFetches.push(new Date().toISOString());
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: standIn.keys.map((key) => key.publicJwk) }));
      } else {
        response.writeHead(404).end();
      }
    });
    const standIn = new OidcStandIn(server, tls.cert);
    self.standIn = standIn;
    await standIn.rotate();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get issuer(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A new signing key, published next to the old ones; returns its key id. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `key-${this.keys.length + 1}`;
    this.keys.push({ kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } });
    return kid;
  }

  /** A token signed with the newest key (or a key made on the spot and never published). */
  async token(claims: JWTPayload & { groups?: string[] }, options: { expiresInS?: number; unpublished?: boolean } = {}): Promise<string> {
    const key = options.unpublished ? { kid: 'unpublished', privateKey: (await generateKeyPair('RS256')).privateKey } : this.keys.at(-1)!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(claims.iss ?? this.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInS ?? 3600))
      .sign(key.privateKey);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
