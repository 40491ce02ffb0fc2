// What toolgate sends a hook and what it accepts back: the interceptors
// extension's `interceptor/invoke` shapes (SEP-2624), used for HTTP webhooks
// too, so one hook can be served over either. Anything else is a failed hook.
import { z } from 'zod';

export type Phase = 'request' | 'response';

/** The params of `interceptor/invoke` (and the body of a webhook POST). */
export interface InvokeParams {
  name: string;
  event: 'tools/call';
  phase: Phase;
  /** request: `{ name, arguments }`; response: the tool's result. */
  payload: unknown;
  context: { sessionId: string; principal: string | null; timestamp: string; tool: string; server?: string };
}

const message = z.object({ message: z.string().max(4096), severity: z.string().optional() }).passthrough();

export const validationResult = z
  .object({
    valid: z.boolean(),
    severity: z.string().optional(),
    messages: z.array(message).max(64).optional(),
  })
  .passthrough();

export const mutationResult = z
  .object({ modified: z.boolean(), payload: z.unknown().optional() })
  .passthrough()
  .refine((r) => !r.modified || r.payload !== undefined, { message: 'modified is true but there is no payload' });

export type ValidationResult = z.infer<typeof validationResult>;
export type MutationResult = z.infer<typeof mutationResult>;

/** The interceptor list (`interceptors/list`). */
export const interceptorList = z
  .object({
    interceptors: z.array(
      z
        .object({
          name: z.string(),
          type: z.string(),
          hooks: z.array(z.object({ events: z.array(z.string()), phase: z.string() }).passthrough()).optional(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

/** The answer of a hook of `type`, or why it is not one (a short text, never the answer itself). */
export function readAnswer(
  type: 'validation' | 'mutation',
  value: unknown,
): { ok: true; value: ValidationResult | MutationResult } | { ok: false; error: string } {
  const r = (type === 'validation' ? validationResult : mutationResult).safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const first = r.error.issues[0];
  return { ok: false, error: `not a ${type} result (${first ? `${first.path.join('.') || 'answer'}: ${first.message}` : 'invalid'})` };
}
