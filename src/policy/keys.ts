// Tool keys of a policy, apart from the YAML reader so that compiling a cached
// policy does not load it.

/** Whether a tool key is a glob (toolgate extension): contains `*` or `?`, and is not exactly "*". */
export function isGlobKey(key: string): boolean {
  return key !== '*' && /[*?]/.test(key);
}

/** The counter scope of a tool key: `*` counts as `_global`. */
export function scopeOf(toolKey: string): string {
  return toolKey === '*' ? '_global' : toolKey;
}
