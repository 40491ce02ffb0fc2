// Which format a policy file is in (no parser needed to tell).
import type { CompiledPolicy } from './model.js';

export type PolicyFormat = CompiledPolicy['format'];

/**
 * Which format a policy file is in: `.json` is PolicyLayer JSON, `.yaml`/`.yml` Intercept
 * YAML; otherwise the content decides: a JSON object whose tools carry no Intercept
 * `rules` is PolicyLayer JSON, anything else is YAML.
 */
export function detectFormat(text: string, file: string): PolicyFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'policylayer-json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'intercept-yaml';
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (!body.startsWith('{')) return 'intercept-yaml';
  try {
    const v = JSON.parse(body) as { tools?: Record<string, unknown> };
    const tools = v && typeof v === 'object' && v.tools && typeof v.tools === 'object' ? Object.values(v.tools) : [];
    return tools.some((t) => t !== null && typeof t === 'object' && 'rules' in t) ? 'intercept-yaml' : 'policylayer-json';
  } catch {
    return 'policylayer-json';
  }
}
