// One sample per kind of secret the shared detector (src/redact) must remove,
// for its unit test and the end-to-end test of every place arguments are shown
// or stored. `secret` is the part that must not survive anywhere.
const b64 = (n: number) => Array.from({ length: n }, (_, i) => 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'[i % 52]).join('');

/** One sample per kind of secret; `secret` is the part that must not survive. */
export const SECRET_SAMPLES: Array<{ kind: string; text: string; secret: string }> = [
  { kind: 'aws_key', text: 'id AKIAZ7Q3MXR5T2WVN4PB', secret: 'AKIAZ7Q3MXR5T2WVN4PB' },
  { kind: 'aws_key', text: 'aws_secret_access_key = "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"', secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To' },
  { kind: 'github_token', text: 'use ghp_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R', secret: 'ghp_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R' },
  { kind: 'slack_token', text: 'xoxb-123456789012-1234567890123-Zq8vR2xTn5Lp0wYc4Hb7Jm1K', secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1K' },
  { kind: 'openai_key', text: 'OPENAI=sk-proj-Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8', secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8' },
  {
    kind: 'anthropic_key',
    text: `sk-ant-api03-${'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8'.repeat(2)}abcdefghijkAA`,
    secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8',
  },
  { kind: 'npm_token', text: 'npm_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R', secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R' },
  { kind: 'stripe_key', text: 'charge with sk_live_51HZq8vR2xTn5Lp0wYc4Hb7Jm', secret: '51HZq8vR2xTn5Lp0wYc4Hb7Jm' },
  { kind: 'url_credentials', text: 'fetch https://alice:Zq8vR2xTn5Lp@example.com/data', secret: 'Zq8vR2xTn5Lp' },
  { kind: 'connection_string', text: 'DATABASE_URL=postgres://app:Zq8vR2xTn5Lp0w@db.internal:5432/prod', secret: 'Zq8vR2xTn5Lp0w' },
  { kind: 'connection_string', text: 'mongodb+srv://root:Zq8vR2xTn5Lp0w@cluster0.example.net/test', secret: 'Zq8vR2xTn5Lp0w' },
  { kind: 'private_key', text: `-----BEGIN PRIVATE KEY-----\n${b64(64)}\n${b64(64)}\n${b64(40)}\n-----END PRIVATE KEY-----`, secret: b64(40) },
  { kind: 'private_key', text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64(70)}`, secret: b64(70) },
  {
    kind: 'jwt',
    text: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    secret: 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  },
  { kind: 'bearer', text: 'Authorization: Bearer Zq8vR2xTn5Lp0wYc4Hb7', secret: 'Zq8vR2xTn5Lp0wYc4Hb7' },
  { kind: 'google_api_key', text: 'AIzaSyZq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6U', secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6U' },
  {
    kind: 'sendgrid_key',
    text: `SG.${'Zq8vR2xTn5Lp0wYc4Hb7Jm'}.${'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8ab'}`,
    secret: 'Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2Ri5To8ab',
  },
  { kind: 'card_number', text: 'card 4242 4242 4242 4242 exp 12/30', secret: '4242 4242 4242 4242' },
];

/** No 8 characters in a row of the secret survive. */
export function leaks(out: string, secret: string): string | undefined {
  for (let i = 0; i + 8 <= secret.length; i++) if (out.includes(secret.slice(i, i + 8))) return secret.slice(i, i + 8);
  return undefined;
}
