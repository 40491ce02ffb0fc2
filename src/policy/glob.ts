// Whole-name globs for tool selectors (a file of its own: the policy's blocks
// use it without importing the compiler that imports them).

/** Whole-name glob: `*` any run of characters, `?` one character. */
export function globMatcher(pattern: string): (tool: string) => boolean {
  const src = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'))).join('');
  const re = new RegExp(`^${src}$`, 's');
  return (tool) => re.test(tool);
}
