// The attack library (docs/attacks/) by risk class: the pages a tool's class
// invites, for the dashboard's catalogue and `catalog show`. A page's slug is
// its file name without `.md`; test/attacks.e2e.test.ts checks each exists.
import type { Category } from './types.js';

export interface AttackPage {
  slug: string;
  title: string;
}

const PAGES = {
  loops: { slug: 'runaway-loops', title: 'Runaway loops' },
  irreversible: { slug: 'destructive-and-financial-calls', title: 'Destructive and financial calls' },
  rugPull: { slug: 'rug-pulls', title: 'Rug pulls (tool definitions that change)' },
  shadowing: { slug: 'shadowing', title: 'Tool shadowing across servers' },
  secrets: { slug: 'secrets-in-results', title: 'Secrets and personal data in results' },
  exfiltration: { slug: 'cross-server-exfiltration', title: 'Cross-server exfiltration' },
  ssrf: { slug: 'ssrf-and-path-traversal', title: 'SSRF and path traversal through arguments' },
  desync: { slug: 'header-body-desync', title: 'Header/body desync on 2026-07-28' },
  deputy: { slug: 'confused-deputy', title: 'Confused deputy via token passthrough' },
  malformed: { slug: 'oversize-and-malformed-input', title: 'Oversize and malformed input' },
  limits: { slug: 'what-a-gateway-cannot-stop', title: 'What a deterministic gateway cannot stop' },
} satisfies Record<string, AttackPage>;

/** Every page of the library. */
export const ATTACK_PAGES: readonly AttackPage[] = Object.values(PAGES);

// What reaches any tool (its definition, the wire, the credentials) comes after the class's own pages.
const EVERY_TOOL = [PAGES.rugPull, PAGES.shadowing, PAGES.desync, PAGES.deputy, PAGES.malformed, PAGES.limits];

const BY_CLASS: Record<Category, AttackPage[]> = {
  Read: [PAGES.secrets, PAGES.exfiltration, PAGES.ssrf],
  Write: [PAGES.loops, PAGES.exfiltration],
  Execute: [PAGES.irreversible, PAGES.loops, PAGES.ssrf],
  Destructive: [PAGES.irreversible, PAGES.loops],
  Financial: [PAGES.irreversible, PAGES.loops, PAGES.secrets],
  // Nothing is known: by the MCP defaults it may modify and destroy.
  Other: [PAGES.irreversible, PAGES.loops],
};

/** The attack pages for a tool of `category`: its class's first, then those that apply to every tool. */
export function attackPagesFor(category: Category): AttackPage[] {
  return [...BY_CLASS[category], ...EVERY_TOOL];
}
