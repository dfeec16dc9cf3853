/**
 * Minimal IPv4 arithmetic for planes: parse, overlap, and host-index addressing.
 * Addresses are unsigned 32-bit numbers; the schema has already checked the syntax.
 */

export interface Cidr4 {
  /** Network address as uint32 (host bits cleared). */
  network: number;
  prefix: number;
  /** Number of addresses in the block (2^(32-prefix)). */
  size: number;
  text: string;
}

export function parseIp(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(text: string): Cidr4 {
  const [ip, p] = text.split("/");
  const prefix = Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: ${text}`);
  const size = 2 ** (32 - prefix);
  const raw = parseIp(ip);
  const network = raw - (raw % size);
  return { network, prefix, size, text: `${formatIp(network)}/${prefix}` };
}

export function overlaps(a: Cidr4, b: Cidr4): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

export function contains(c: Cidr4, ip: number): boolean {
  return ip >= c.network && ip < c.network + c.size;
}

/** True when `ip` is the network or broadcast address of `c` (for blocks larger than /31). */
export function isNetworkOrBroadcast(c: Cidr4, ip: number): boolean {
  return c.size > 2 && (ip === c.network || ip === c.network + c.size - 1);
}
