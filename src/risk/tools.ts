// Reading tool definitions from JSON: an array of tools, or a tools/list result.
import { z } from 'zod';
import type { ToolDefinition } from './types.js';

const Annotations = z
  .object({
    title: z.string().optional(),
    readOnlyHint: z.boolean().optional(),
    destructiveHint: z.boolean().optional(),
    idempotentHint: z.boolean().optional(),
    openWorldHint: z.boolean().optional(),
  })
  .passthrough();

const Tool = z
  .object({
    name: z.string().min(1, 'name must not be empty'),
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    annotations: Annotations.optional(),
  })
  .passthrough();

export class ToolListError extends Error {}

/**
 * Parse tool definitions from JSON text: a JSON array of tools, a tools/list result
 * `{"tools": [...]}`, or a JSON-RPC response carrying one (`{"result": {"tools": [...]}}`).
 * Throws ToolListError with a message naming the problem (and the index of a bad tool).
 */
export function parseToolList(text: string, source = 'input'): ToolDefinition[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ToolListError(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return toolsFrom(data, source);
}

/** Tool definitions from already-parsed JSON (see parseToolList). */
export function toolsFrom(data: unknown, source = 'input'): ToolDefinition[] {
  let list: unknown = data;
  if (isObject(list) && isObject(list.result) && 'tools' in list.result) list = list.result.tools;
  else if (isObject(list) && 'tools' in list) list = list.tools;
  if (!Array.isArray(list)) {
    throw new ToolListError(`${source}: expected a JSON array of tool definitions or a tools/list result {"tools": [...]}`);
  }
  return list.map((item, i) => {
    const r = Tool.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      throw new ToolListError(`${source}: tool [${i}]${where}: ${issue ? issue.message : 'invalid tool definition'}`);
    }
    return r.data as ToolDefinition;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
