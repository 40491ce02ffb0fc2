// A labelled corpus for the detectors of src/guards, from public test vectors:
// card numbers from the card networks' and payment processors' published test
// numbers, IBANs from the ECBS/SWIFT registry examples, phone numbers from the
// ranges regulators reserve for drama and documentation (Ofcom 020 7946 0xxx,
// NANP 555-01xx), e-mail addresses of the documentation domains (RFC 2606),
// Spanish DNI/NIE from the Ministry of the Interior's published check-letter
// rule, credentials in the shapes of the vendors' documented formats (made-up
// values). Negatives: text an MCP tool returns every day that looks close.
export interface Sample {
  text: string;
  /** The detector that must fire, or undefined: no detector may fire. */
  detector?: 'credentials' | 'card_number' | 'iban' | 'email' | 'phone' | 'national_id';
}

export const POSITIVE: Sample[] = [
  // Cards (test numbers): Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro
  ...[
    '4242424242424242',
    '4111 1111 1111 1111',
    '4000-0566-5566-5556',
    '5555555555554444',
    '2223003122003222',
    '5105105105105100',
    '378282246310005',
    '371449635398431',
    '6011111111111117',
    '6011000990139424',
    '3056930009020004',
    '36227206271667',
    '3566002020360505',
    '6200000000000005',
    '6759649826438453',
  ].map((text) => ({ text: `card: ${text}`, detector: 'card_number' as const })),
  // IBANs (registry examples)
  ...[
    'GB82WEST12345698765432',
    'GB82 WEST 1234 5698 7654 32',
    'DE89370400440532013000',
    'DE89 3704 0044 0532 0130 00',
    'FR1420041010050500013M02606',
    'ES9121000418450200051332',
    'NL91ABNA0417164300',
    'BE68539007547034',
    'CH9300762011623852957',
    'IT60X0542811101000000123456',
    'AT611904300234573201',
    'PL61109010140000071219812874',
  ].map((text) => ({ text: `pay to ${text} today`, detector: 'iban' as const })),
  // E-mail
  ...['alice@example.com', 'bob.smith+tag@example.org', 'x_y-z@mail.example.net', 'first.last@sub.example.co.uk', 'a@example.io'].map((text) => ({
    text: `mail ${text}`,
    detector: 'email' as const,
  })),
  // Phone (international form)
  ...[
    '+44 20 7946 0958',
    '+442079460018',
    '+1 202-555-0173',
    '+1 (415) 555-0132',
    '+33 1 99 00 12 34',
    '+49 30 901820',
    '+61 2 5550 1234',
    '+34 912 345 678',
  ].map((text) => ({ text: `call ${text}`, detector: 'phone' as const })),
  // Spanish DNI / NIE
  ...['12345678Z', '00000000T', '99999999R', 'X1234567L', 'Y1234567X', 'Z1234567R'].map((text) => ({ text: `id ${text}`, detector: 'national_id' as const })),
  // Credentials (vendor formats, made-up values)
  ...[
    'AKIAZ7Q3MXR5T2WVN4PB',
    'ghp_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R',
    'xoxb-123456789012-1234567890123-Zq8vR2xTn5Lp0wYc4Hb7Jm1K',
    'sk_live_51HZq8vR2xTn5Lp0wYc4Hb7Jm',
    'glpat-Zq8vR2xTn5Lp0wYc4Hb7J',
    'AIzaSyZq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6U',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'postgres://app:Zq8vR2xTn5Lp0w@db.internal:5432/prod',
    'https://alice:Zq8vR2xTn5Lp@example.com/data',
    'sk-proj-Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8',
    'npm_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----',
  ].map((text) => ({ text: `config ${text}`, detector: 'credentials' as const })),
];

export const NEGATIVE: Sample[] = [
  'order 1234567890123 shipped',
  '4242424242424241',
  '0000 0000 0000 0000',
  'build 20260115103000123',
  'uuid 123e4567-e89b-12d3-a456-426614174000',
  'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
  'timestamp 2026-01-15T10:30:00Z',
  'version 1.2.3-beta.4',
  'GB00WEST12345698765432',
  'DE00370400440532013000',
  'ISBN 978-3-16-148410-0',
  'user at example dot com',
  '@example.com is a domain',
  'call 020 7946 0958',
  '+1 000',
  '12345678A',
  'https://example.com/a?b=c',
  'postgres://db.internal:5432/prod',
  'the quick brown fox jumps over the lazy dog',
  'sk-short',
  'price 1499.99 EUR, qty 12, total 17999.88',
  'ip 192.168.100.200 port 8443',
  'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'phone extension 4471',
  'tracking 1Z999AA10123456784',
].map((text) => ({ text }));
