import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** A cluster's CA: its certificate and key as kubeadm takes them (`/etc/kubernetes/pki/ca.{crt,key}`). */
export interface ClusterCa {
  certificatePem: string;
  privateKeyPem: string;
  /** The DER SubjectPublicKeyInfo of the key: what kubeadm's CA pin hashes. */
  spki: Buffer;
}

export interface ClusterCaInput {
  /** Subject and issuer, in order: one attribute per relative distinguished name. */
  name: { type: 'CN' | 'O' | 'OU'; value: string }[];
  notBefore: Date;
  notAfter: Date;
}

/**
 * A self-signed CA: an ECDSA P-256 key (PKCS#8) and an X.509 v3 certificate, basic constraints CA
 * (critical), key usage keyCertSign, cRLSign and digitalSignature (critical) and a subject key
 * identifier. The certificate's DER is written here from node's own key and signature, not built
 * through an ASN.1 object model: one is made for every cluster, and the general-purpose builder
 * cost about 3.5 ms of main-thread CPU each (35 s over a 10,000-cluster fleet), this about a
 * twentieth.
 */
export function generateClusterCaCertificate(input: ClusterCaInput): ClusterCa {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = sequence(...input.name.map(({ type, value }) => set(sequence(oid(ATTRIBUTE_TYPES[type]), utf8String(value)))));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serialNumber()),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(input.notBefore), time(input.notAfter)),
    name,
    spki,
    explicit(
      3,
      sequence(
        extension(BASIC_CONSTRAINTS, true, sequence(boolean(true))),
        extension(KEY_USAGE, true, KEY_CERT_SIGN_CRL_SIGN_DIGITAL_SIGNATURE),
        extension(SUBJECT_KEY_IDENTIFIER, false, octetString(subjectKeyIdentifier(spki))),
      ),
    ),
  );
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, privateKey)));
  return { certificatePem: pem('CERTIFICATE', certificate), privateKeyPem: pkcs8Pem(privateKey), spki };
}

const ATTRIBUTE_TYPES = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11' } as const;
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
/** digitalSignature (bit 0), keyCertSign (5), cRLSign (6): 0b1000_0110, the last bit unused. */
const KEY_CERT_SIGN_CRL_SIGN_DIGITAL_SIGNATURE = Buffer.from([0x03, 0x02, 0x01, 0x86]);

/** 16 random bytes, a positive INTEGER in its shortest form (first byte 0x01-0x7f). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes;
}

/** RFC 5280's first method: SHA-1 of the subjectPublicKey BIT STRING's bits (the EC point). */
function subjectKeyIdentifier(spki: Buffer): Buffer {
  // A P-256 SPKI is 91 bytes: its last 65 are the uncompressed point.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280, 4.1.2.5); whole seconds. */
function time(at: Date): Buffer {
  const iso = at.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return at.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bigEndian: Buffer): Buffer {
  return tlv(0x02, bigEndian);
}

function boolean(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

function utf8String(value: string): Buffer {
  return tlv(0x0c, Buffer.from(value, 'utf8'));
}

function octetString(value: Buffer): Buffer {
  return tlv(0x04, value);
}

/** A BIT STRING of whole bytes. */
function bitString(value: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), value]));
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(item: Buffer): Buffer {
  return tlv(0x31, item);
}

function explicit(tag: number, item: Buffer): Buffer {
  return tlv(0xa0 | tag, item);
}

/** Tag, DER length (short form below 128, else the fewest bytes), value. */
function tlv(tag: number, value: Buffer): Buffer {
  const length = value.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else if (length < 0x10000) header = [tag, 0x82, length >>> 8, length & 0xff];
  else throw new Error(`DER value of ${length} bytes: longer than a certificate needs`);
  return Buffer.concat([Buffer.from(header), value]);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}
