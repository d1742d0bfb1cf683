// The serial console's log: the terminal's lines as a text file (trailing blanks trimmed, the
// empty lines at the end dropped), and its file name.

export function logText(lines: readonly string[]): string {
  const trimmed = lines.map((line) => line.replace(/\s+$/, ''));
  while (trimmed.length > 0 && trimmed[trimmed.length - 1] === '') trimmed.pop();
  return trimmed.length ? `${trimmed.join('\n')}\n` : '';
}

/** `web-01-serial-2026-12-02T08-03-00.log` */
export function logFileName(name: string, at: Date): string {
  return `${name}-serial-${at.toISOString().slice(0, 19).replace(/:/g, '-')}.log`;
}
