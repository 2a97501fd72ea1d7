// TLS of npm start's entry point: the certificate files named by FLOTILLA_TLS_CERT_FILE and
// FLOTILLA_TLS_KEY_FILE, or a local development CA made on first start under .data/tls/ (pure
// JavaScript through @peculiar/x509 and WebCrypto, so no openssl is needed). The CA is kept and
// reused; the server certificate (localhost, gateway, 127.0.0.1, ::1, and the names asked for,
// such as this machine's address where tunnel agents enroll) is issued again when it nears its end
// or lacks a name. `gateway` is the entry point's name inside docker compose, where the importer
// reaches the tunnel broker through it.
// Also runnable alone, to make the files docker compose mounts: node tools/start-lib/tls.mjs [name ...]
import { webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { nonEmpty } from './env.mjs';

x509.cryptoProvider.set(webcrypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 24 * 60 * 60 * 1000;
export const SERVER_NAMES = Object.freeze({ dns: ['localhost', 'gateway'], ip: ['127.0.0.1', '::1'] });
/** Browsers refuse server certificates valid for more than 398 days. */
const SERVER_DAYS = 365;
const CA_DAYS = 10 * 365;
/** A server certificate with less than this left is issued again at start. */
const RENEW_BEFORE_DAYS = 30;

/** The files of the development CA under `dir` (normally .data/tls). */
export function devCaFiles(dir) {
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** The names of the development server certificate: SERVER_NAMES and `extra` (host names or IP addresses). */
export function serverNames(extra = []) {
  const dns = new Set(SERVER_NAMES.dns);
  const ip = new Set(SERVER_NAMES.ip);
  for (const name of extra) {
    const bare = name.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) ip.add(bare);
    else if (/^[A-Za-z0-9.-]+$/.test(bare)) dns.add(bare.toLowerCase());
    else throw new Error(`${name} is neither a host name nor an IP address`);
  }
  return { dns: [...dns], ip: [...ip] };
}

/** Whether a PEM certificate is valid for `host` (a name or an IP address) by its subject alternative names. */
export function certificateCovers(pem, host) {
  const cert = new X509Certificate(pem);
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) ? cert.checkIP(bare) !== undefined : cert.checkHost(bare, { subject: 'never' }) !== undefined;
}

/**
 * The certificate and key the entry point serves. FLOTILLA_TLS_CERT_FILE and
 * FLOTILLA_TLS_KEY_FILE (both or neither) win; otherwise the development CA under `tlsDir`, whose
 * server certificate also names `names`. Returns { cert, key, certFile, keyFile, caFile?, origin }.
 */
export async function resolveTls(env, tlsDir, { now = new Date(), names = [] } = {}) {
  const certFile = nonEmpty(env.FLOTILLA_TLS_CERT_FILE);
  const keyFile = nonEmpty(env.FLOTILLA_TLS_KEY_FILE);
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) throw new Error('set both FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE, or neither');
    for (const file of [certFile, keyFile]) if (!existsSync(file)) throw new Error(`${file} (from FLOTILLA_TLS_${file === certFile ? 'CERT' : 'KEY'}_FILE) does not exist`);
    return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile, origin: 'FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE' };
  }
  const made = await ensureDevCa(tlsDir, { now, names });
  return { cert: readFileSync(made.cert), key: readFileSync(made.key), certFile: made.cert, keyFile: made.key, caFile: made.caCert, origin: made.origin };
}

/**
 * Makes (or reuses) the CA and a server certificate under `dir` for SERVER_NAMES and `names`.
 * Keys are written 0600. Returns the files plus `origin`: 'new' (CA made now), 'renewed' (server
 * certificate issued again under the kept CA: near its end, or lacking a name) or 'kept'.
 */
export async function ensureDevCa(dir, { now = new Date(), names = [] } = {}) {
  const files = devCaFiles(dir);
  const wanted = serverNames(names);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca;
  let origin = 'kept';
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    ca = { cert: new x509.X509Certificate(readFileSync(files.caCert, 'utf8')), privateKey: await importKey(readFileSync(files.caKey, 'utf8')) };
    if (ca.cert.notAfter.getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY) ca = undefined;
  }
  if (!ca) {
    ca = await makeCa(now);
    writeFileSync(files.caCert, ca.cert.toString('pem') + '\n');
    writeKey(files.caKey, await exportKey(ca.privateKey));
    origin = 'new';
  }
  if (origin === 'new' || !serverCertificateFits(files, ca.cert, now, wanted)) {
    const server = await issueServer(ca, now, wanted);
    writeFileSync(files.cert, server.cert.toString('pem') + '\n');
    writeKey(files.key, await exportKey(server.privateKey));
    if (origin === 'kept') origin = 'renewed';
  }
  return { ...files, origin };
}

function serverCertificateFits(files, caCert, now, wanted) {
  if (!existsSync(files.cert) || !existsSync(files.key)) return false;
  try {
    const pem = readFileSync(files.cert, 'utf8');
    const cert = new x509.X509Certificate(pem);
    const named = [...wanted.dns, ...wanted.ip].every((name) => certificateCovers(pem, name));
    return named && cert.issuer === caCert.subject && cert.notAfter.getTime() - now.getTime() >= RENEW_BEFORE_DAYS * DAY && cert.notBefore <= now;
  } catch {
    return false;
  }
}

function serial() {
  // Positive, 16 bytes.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function makeCa(now) {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Flotilla local development CA ${now.toISOString().slice(0, 10)}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

async function issueServer(ca, now, names) {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(Math.min(now.getTime() + SERVER_DAYS * DAY, ca.cert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names.dns.map((value) => ({ type: 'dns', value })), ...names.ip.map((value) => ({ type: 'ip', value }))]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

async function exportKey(privateKey) {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem) {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
}

function writeKey(file, pem) {
  writeFileSync(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode above applies only to a new file
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(fileURLToPath(import.meta.url), '../../../.data/tls');
  // Extra names: where tunnel agents reach this machine, e.g. node tools/start-lib/tls.mjs 192.168.1.20
  const names = process.argv.slice(2);
  const made = await ensureDevCa(dir, { names });
  const { dns, ip } = serverNames(names);
  console.log(`development CA (${made.origin}): ${made.caCert}\nserver certificate: ${made.cert} (${[...dns, ...ip].join(', ')})\nserver key: ${made.key}`);
}
