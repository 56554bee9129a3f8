import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet, parseCidr } from './cidr.js';

function assertMatches(set: CidrSet, inside: readonly string[], outside: readonly string[]): void {
  for (const a of inside) assert.equal(set.has(a), true, `${a} should be in ${set.ranges}`);
  for (const a of outside) assert.equal(set.has(a), false, `${a} should not be in ${set.ranges}`);
}

describe('parseCidr', () => {
  it('splits an IPv4 range into address, prefix and family', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 4 });
    assert.deepEqual(parseCidr(' 192.168.1.0/24 '), {
      address: '192.168.1.0',
      prefix: 24,
      family: 4,
    });
  });

  it('splits an IPv6 range', () => {
    assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 6 });
    assert.deepEqual(parseCidr('::/0'), { address: '::', prefix: 0, family: 6 });
  });

  it('reads a bare address as a single-address range', () => {
    assert.deepEqual(parseCidr('203.0.113.7'), { address: '203.0.113.7', prefix: 32, family: 4 });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 6 });
  });

  it('accepts the largest prefix of each family', () => {
    assert.equal(parseCidr('10.1.2.3/32').prefix, 32);
    assert.equal(parseCidr('fe80::1/128').prefix, 128);
  });

  it('throws a one-line reason naming the input for malformed CIDRs', () => {
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0.0/-1',
      '10.0.0.0/',
      '10.0.0.0/abc',
      '10.0.0.0/8.5',
      '10.0.0.0/ 8',
      '10.0.0.0/1000',
      '10.0.0.0/8/8',
      '::/129',
      '::1/200',
      '10.0.0/8',
      '256.0.0.0/8',
      'localhost',
      'junk',
      '',
      '/8',
    ]) {
      assert.throws(
        () => parseCidr(bad),
        (err: unknown) =>
          err instanceof Error && err.message.includes(`"${bad}"`) && !err.message.includes('\n'),
        JSON.stringify(bad),
      );
    }
  });
});

describe('CidrSet', () => {
  it('matches addresses inside IPv4 ranges, boundaries included', () => {
    const set = new CidrSet(['10.0.0.0/8', '192.168.1.0/24']);
    assertMatches(
      set,
      ['10.0.0.0', '10.255.255.255', '10.1.2.3', '192.168.1.0', '192.168.1.255'],
      ['9.255.255.255', '11.0.0.0', '192.168.0.255', '192.168.2.0', '172.16.0.1'],
    );
  });

  it('matches addresses inside IPv6 ranges', () => {
    const set = new CidrSet(['2001:db8::/32', 'fd00::/8']);
    assertMatches(
      set,
      ['2001:db8::1', '2001:db8:ffff:ffff::', '2001:DB8::abcd', 'fd12:3456::1'],
      ['2001:db9::1', '2001:db7:ffff::1', 'fe80::1', '::1'],
    );
  });

  it('matches a bare IPv4 address only itself', () => {
    assertMatches(new CidrSet(['203.0.113.7']), ['203.0.113.7'], ['203.0.113.6', '203.0.113.8']);
  });

  it('matches ::1 in its short and long spellings only', () => {
    assertMatches(new CidrSet(['::1']), ['::1', '0:0:0:0:0:0:0:1'], ['::2', '::', '127.0.0.1']);
  });

  it('matches an IPv4-mapped IPv6 peer against IPv4 ranges', () => {
    const set = new CidrSet(['127.0.0.0/8']);
    assertMatches(
      set,
      ['::ffff:127.0.0.1', '::FFFF:127.1.2.3', '127.0.0.1'],
      ['::ffff:10.0.0.1', '::ffff:128.0.0.1'],
    );
  });

  it('with the default allow-list, admits loopback only', () => {
    const set = new CidrSet(['127.0.0.0/8', '::1']);
    assertMatches(
      set,
      ['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1'],
      ['128.0.0.1', '10.0.0.1', '192.168.0.10', '::2', 'fe80::1', '::ffff:192.168.0.10'],
    );
  });

  it('keeps the families apart', () => {
    assertMatches(new CidrSet(['0.0.0.0/0']), ['1.2.3.4', '255.255.255.255'], ['2001:db8::1']);
    assertMatches(new CidrSet(['2001:db8::/32']), [], ['32.1.13.184', '1.2.3.4']);
  });

  it('matches nothing when empty', () => {
    assertMatches(new CidrSet([]), [], ['127.0.0.1', '::1']);
  });

  it('answers false for a missing or unparsable address', () => {
    const set = new CidrSet(['0.0.0.0/0', '::/0']);
    assert.equal(set.has('8.8.8.8'), true);
    for (const bad of [undefined, '', 'garbage', 'localhost', '999.1.1.1', '10.0.0.0/8', '1.2.3']) {
      assert.equal(set.has(bad), false, String(bad));
    }
  });

  it('keeps the ranges it was given', () => {
    assert.deepEqual(new CidrSet(['10.0.0.0/8', '::1']).ranges, ['10.0.0.0/8', '::1']);
  });

  it('throws on construction when any range is malformed', () => {
    assert.throws(() => new CidrSet(['127.0.0.0/8', '10.0.0.0/33']), /invalid CIDR "10.0.0.0\/33"/);
    assert.throws(() => new CidrSet(['::/129']), /invalid CIDR/);
    assert.throws(() => new CidrSet(['junk']), /invalid CIDR/);
  });
});
