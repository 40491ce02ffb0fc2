// Sections of BENCHMARKS.md that `npm run bench` does not measure itself
// (targeted runs: the set-up of many sessions, where one call's time goes,
// the library's cost with no pipes) sit between two marker lines. The
// generator copies that block from the file it replaces into the new one,
// so a full run never loses rows it does not produce.
export const KEPT_START = '<!-- kept: sections written by targeted runs; `npm run bench` copies them unchanged -->';
export const KEPT_END = '<!-- kept: end -->';

/**
 * The kept block of an existing BENCHMARKS.md, markers included; '' when the
 * file has none. A start marker without its end keeps nothing (a torn edit
 * must not swallow the generated tables that follow it).
 */
export function keptBlock(previous: string): string {
  const start = previous.indexOf(KEPT_START);
  if (start < 0) return '';
  const end = previous.indexOf(KEPT_END, start);
  if (end < 0) return '';
  return previous.slice(start, end + KEPT_END.length);
}
