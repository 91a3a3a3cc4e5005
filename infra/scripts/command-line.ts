/** keepalived's word splitting of a script line: notify, vrrp_script, misc_path. Pure. */

export type SplitResult = { ok: true; argv: string[] } | { ok: false; message: string };

/**
 * Splits a script command line into words the way keepalived's
 * quoted-escaped tokenizer does, without a shell: blanks separate words,
 * '...' and "..." group (quotes removed), a backslash outside single quotes
 * takes the next character literally. No globbing, no variables, no pipes.
 * @returns the words, or a message for an unterminated quote / empty line.
 */
export function splitCommandLine(line: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    word += c;
    inWord = true;
  }
  if (quote) return { ok: false, message: `unterminated ${quote} quote in '${line}'` };
  if (inWord) words.push(word);
  if (words.length === 0) return { ok: false, message: 'empty command line' };
  return { ok: true, argv: words };
}
