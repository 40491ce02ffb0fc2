// Strings that came from an agent or a server (tool names, identities,
// messages, rule names) are printed by the CLI. Printed as they are, an
// escape sequence in a tool name could repaint the line ("denied" shown as
// "allowed"), a newline could forge a whole record, and a bidi override could
// reorder what is read. printable() shows every such character as a visible
// escape instead, so what is on screen is what is in the log.

// C0 controls, DEL, C1 controls (0x9B is CSI on many terminals), and the
// Unicode format characters that reorder or hide text (bidi embeddings,
// overrides and isolates, marks, zero-width characters, line/paragraph separators).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;

function escape(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** The string with every control or invisible formatting character shown as `\xNN` / `\u{NNNN}`. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, escape);
}
