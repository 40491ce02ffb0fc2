// Whether an address or host name only reaches this machine: the one answer
// for every listener (gateway, metrics, dashboard) and for the JWKS URL check.
import { isIPv4 } from 'node:net';

/** `localhost`, `::1` (bracketed or not), an IPv4 address in 127.0.0.0/8, or its IPv4-mapped form `::ffff:127.0.0.1`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIPv4(h) && h.startsWith('127.');
}
