// Input checks shared by every counter store. A NaN or negative amount would
// silently poison a counter (NaN compares false against every limit, so the
// limit would never bite again): such a request is a programming or policy
// error, and the store refuses it loudly instead of failing open.
import type { ReserveRequest } from './types.js';

export function checkReserveRequests(requests: readonly ReserveRequest[]): void {
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    if (typeof r.key !== 'string' || r.key.length === 0) {
      throw new TypeError(`reserve: request ${i} has an empty counter key`);
    }
    if (typeof r.amount !== 'number' || !Number.isFinite(r.amount) || r.amount < 0) {
      throw new RangeError(`reserve: request ${i} (${r.key}) has amount ${String(r.amount)}; it must be a finite number >= 0`);
    }
    if (typeof r.limit !== 'number' || Number.isNaN(r.limit)) {
      throw new RangeError(`reserve: request ${i} (${r.key}) has limit ${String(r.limit)}; it must be a number`);
    }
  }
}
