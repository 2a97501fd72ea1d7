import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonical, contains, formatIp, hasHostBits, overlaps, parseCidr, parseIp, subnetCount, type Cidr } from './cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed.ok, `${text} should parse`);
  return parsed.cidr;
}

describe('CIDRs', () => {
  it('parses IPv4 and IPv6, compressed or not, with an embedded IPv4 tail', () => {
    assert.deepEqual(parseIp('10.244.0.1'), { family: 4, value: 0x0af40001n });
    assert.equal(parseIp('fd00::1')?.value, (0xfd00n << 112n) | 1n);
    assert.equal(parseIp('fd00:0:0:0:0:0:0:1')?.value, parseIp('fd00::1')?.value);
    assert.equal(parseIp('::ffff:10.0.0.1')?.value, (0xffffn << 32n) | 0x0a000001n);
    assert.equal(parseIp('::')?.value, 0n);
  });

  it('refuses what is not an address', () => {
    for (const text of ['10.0.0', '10.0.0.256', '010.0.0.1', 'fd00::1::2', 'fd00:1:2:3:4:5:6:7:8', 'g::1', '', 'example.com']) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  it('names what is wrong with a CIDR', () => {
    assert.deepEqual(parseCidr('10.0.0.0'), { ok: false, problem: '"10.0.0.0" is not a CIDR (address/prefix, e.g. 10.244.0.0/16)' });
    assert.deepEqual(parseCidr('10.0.0.0/33'), { ok: false, problem: 'prefix /33 is longer than an IPv4 address (32 bits)' });
    assert.deepEqual(parseCidr('10.0.300.0/16'), { ok: false, problem: '"10.0.300.0" is not an IPv4 or IPv6 address' });
  });

  it('finds host bits and the network they hide', () => {
    assert.equal(hasHostBits(cidr('10.244.1.0/16')), true);
    assert.equal(canonical(cidr('10.244.1.0/16')), '10.244.0.0/16');
    assert.equal(hasHostBits(cidr('10.244.0.0/16')), false);
    assert.equal(canonical(cidr('fd00::1/64')), 'fd00::/64');
  });

  it('overlap: containment either way, never across families', () => {
    assert.equal(overlaps(cidr('10.0.0.0/8'), cidr('10.96.0.0/12')), true);
    assert.equal(overlaps(cidr('10.96.0.0/12'), cidr('10.0.0.0/8')), true);
    assert.equal(overlaps(cidr('10.244.0.0/16'), cidr('10.96.0.0/12')), false);
    assert.equal(overlaps(cidr('10.111.0.0/16'), cidr('10.96.0.0/12')), true);
    assert.equal(overlaps(cidr('fd00::/48'), cidr('10.0.0.0/8')), false);
  });

  it('contains an address, and counts node ranges', () => {
    assert.equal(contains(cidr('10.96.0.0/12'), parseIp('10.100.1.1')!), true);
    assert.equal(contains(cidr('10.96.0.0/12'), parseIp('10.112.0.0')!), false);
    assert.equal(subnetCount(cidr('10.244.0.0/16'), 24), 256n);
    assert.equal(subnetCount(cidr('10.244.0.0/25'), 24), 0n);
  });

  it('formats IPv6 the RFC 5952 way', () => {
    assert.equal(formatIp(6, parseIp('fd00:0:0:1:0:0:0:1')!.value), 'fd00:0:0:1::1');
    assert.equal(formatIp(6, 0n), '::');
    assert.equal(formatIp(4, 0xac100001n), '172.16.0.1');
  });
});
