import { BlockList, isIP } from 'node:net';

/** Parses "a.b.c.d/n", "v6::/n" or a bare address; throws a one-line reason when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) throw new Error(`invalid CIDR "${text}"`);
  const family = isIP(address);
  if (family !== 4 && family !== 6) throw new Error(`invalid CIDR "${text}"`);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new Error(`invalid CIDR "${text}"`);
  }
  return { address, prefix, family };
}

const mappedV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** A set of CIDR ranges; IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) match IPv4 ranges. */
export class CidrSet {
  private readonly list = new BlockList();
  readonly ranges: readonly string[];

  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs;
    for (const c of cidrs) {
      const { address, prefix, family } = parseCidr(c);
      this.list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  has(address: string | undefined): boolean {
    if (!address) return false;
    const mapped = mappedV4.exec(address);
    const plain = mapped?.[1] ?? address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}
