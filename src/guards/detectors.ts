// The detectors a policy names in `guards.detect.detectors` (the names are the
// policy room's DETECTORS). Each finds spans of a text. Credentials come from
// the redact room (secretlint's recommended preset plus toolgate's own
// patterns); phone numbers from libphonenumber-js (Google's metadata); IBANs
// from ibantools (per-country length and format, then mod-97); card numbers
// must pass Luhn; national ids must pass their own check character.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { findSecrets, luhn } from '../redact/index.js';
import type { DetectorName } from '../policy/guards.js';

/** One find: `text.slice(start, end)`; `kind` says what it is (e.g. aws_key, card_number). */
export interface Finding {
  detector: DetectorName;
  kind: string;
  start: number;
  end: number;
}

/** Phone candidates validated per text (each costs the library a parse). */
const MAX_PHONE_CHECKS = 500;

type Detector = (text: string) => Array<Omit<Finding, 'detector'>>;

const matches = (text: string, re: RegExp, kind: string, check: (m: string) => boolean): Array<Omit<Finding, 'detector'>> => {
  const out: Array<Omit<Finding, 'detector'>> = [];
  for (const m of text.matchAll(re)) if (check(m[0])) out.push({ kind, start: m.index, end: m.index + m[0].length });
  return out;
};

/** Spanish DNI (8 digits) and NIE (X/Y/Z and 7 digits): the letter is the number mod 23. */
function spanishId(s: string): boolean {
  const v = s.toUpperCase().replace(/-/g, '');
  const digits = v.replace(/^[XYZ]/, (c) => String('XYZ'.indexOf(c)));
  if (!/^[0-9]{8}[A-Z]$/.test(digits)) return false;
  return 'TRWAGMYFPDXBNJZSQVHLCKE'[Number(digits.slice(0, 8)) % 23] === digits[8];
}

/** The Luhn-checked 13-19 digit runs that are not one digit repeated (0000...). */
const cardLike = (m: string): boolean => {
  const d = m.replace(/[ -]/g, '');
  return luhn(d) && !/^(\d)\1+$/.test(d);
};

export const DETECTOR_IMPLS: Record<DetectorName, Detector> = {
  credentials: (text) => findSecrets(text).filter((f) => f.kind !== 'card_number'),
  card_number: (text) => matches(text, /(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])/g, 'card_number', cardLike),
  iban: (text) =>
    matches(text, /(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g, 'iban', (m) => isValidIBAN(electronicFormatIBAN(m) ?? '')),
  email: (text) =>
    matches(
      text,
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
      'email',
      () => true,
    ),
  // International form only (+ and country code): a national number could be any digits. Candidates
  // are cut out by a linear regex first and validated one by one (the library's own text search
  // takes seconds on a crafted result of many `+1 `).
  phone: (text) => {
    // Past this many candidates in one text, the rest count as phone numbers unvalidated (bounded work, failing closed).
    let budget = MAX_PHONE_CHECKS;
    return matches(text, /(?<![0-9A-Za-z+])\+[0-9](?:[ .()-]{0,2}[0-9]){6,16}(?![0-9])/g, 'phone', (m) => {
      if (budget-- <= 0) return true;
      try {
        return parsePhoneNumberFromString(m)?.isValid() === true;
      } catch {
        return false;
      }
    });
  },
  national_id: (text) => matches(text, /(?<![A-Za-z0-9])[XYZxyz]?[0-9]{7,8}-?[A-Za-z](?![A-Za-z0-9])/g, 'es_dni', spanishId),
};

/** Every find of the given detectors in `text`, overlaps merged, in text order. */
export function detect(text: string, detectors: readonly DetectorName[]): Finding[] {
  const found: Finding[] = [];
  for (const d of detectors) for (const f of DETECTOR_IMPLS[d](text)) if (f.end > f.start) found.push({ detector: d, ...f });
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Finding[] = [];
  for (const f of found) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) last.end = Math.max(last.end, f.end);
    else merged.push({ ...f });
  }
  return merged;
}
