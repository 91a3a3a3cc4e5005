/**
 * `--pretty`: pino's JSON lines turned into one human line each, in-process.
 * Built in rather than pino-pretty because pino-pretty is a development tool
 * (a worker-thread transport with its own dependencies) that an installed
 * package without dev dependencies does not have; this needs nothing.
 * Colour only when the output is a terminal and NO_COLOR is unset, so a log
 * redirected to a file or the journal holds no escape codes.
 */

const LEVELS: Readonly<Record<number, { name: string; colour: string }>> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '41;97' },
};

/** What every line carries and the head of the line already shows. */
const SHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as "HH:MM:SS.mmm LEVEL msg key=value ...", with an error's stack below; a line that is not JSON comes back as it was. */
export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const paint = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const level = LEVELS[Number(o.level)] ?? { name: String(o.level ?? '?').toUpperCase(), colour: '0' };
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(o)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${paint('2', `${k}=`)}${value(v)}`);
  const err = o.err as { message?: unknown; stack?: unknown } | undefined;
  const head = [paint('2', time), paint(level.colour, level.name.padEnd(5)), String(o.msg ?? ''), ...fields].filter((s) => s !== '').join(' ');
  const stack = err && typeof err.stack === 'string' ? '\n' + err.stack.replace(/^/gm, '    ') : err?.message !== undefined ? ` err=${value(err.message)}` : '';
  return `${head}${stack}\n`;
}

/** Whether to colour what goes to `out`: a terminal, and NO_COLOR unset (https://no-color.org). */
export function wantsColour(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && (env.NO_COLOR ?? '') === '';
}

/** A pino destination that writes each record to `out` as a pretty line. */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }, colour = wantsColour(out)): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      // pino writes one record per call, newline-terminated.
      for (const line of chunk.split('\n')) if (line !== '') out.write(prettyLine(line, colour));
    },
  };
}
