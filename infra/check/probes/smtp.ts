/**
 * SMTP_CHECK (keepalived's check_smtp.c: smtp_engine_thread): connect, read the
 * greeting and want 220, send `HELO <helo_name>`, want 250, send QUIT and read
 * one more line, whatever it says. Each connect, read and write has
 * connect_timeout, as keepalived's threads do; the whole conversation is also
 * capped (`maxExchangeMs`) so a server trickling a byte at a time cannot hold
 * the probe.
 *
 * keepalived's SMTP_CHECK `host` blocks each become a checker of their own
 * (smtp_check_end_handler); infra/check/plan.ts does that, so this probe talks
 * to one server.
 *
 * Replies are read as RFC 5321 §4.2 has them: continuation lines "NNN-..." up to
 * the last line "NNN ...". keepalived looks at the first line only and reads a
 * multi-line 220 greeting as a bad banner; this probe waits for the last line,
 * so such a server is up here. A line longer than keepalived's 512-byte buffer
 * (SMTP_BUFF_MAX) fails the check ('protocol'), which also bounds what a server
 * sending garbage without line ends can make the probe hold.
 */
import type { Socket } from 'node:net';
import { destination, errorResult, openTcp } from './connect.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, fail, type ConnectOptions, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

/** keepalived's SMTP_DEFAULT_HELO. */
export const DEFAULT_HELO_NAME = 'smtpchecker.keepalived.org';
/** keepalived's SMTP_BUFF_MAX: a reply line, CRLF included, fits in it. */
export const MAX_LINE_BYTES = 512;
/** continuation lines accepted in one reply */
const MAX_REPLY_LINES = 100;

export interface SmtpProbeOptions extends ConnectOptions {
  /** helo_name (default keepalived's smtpchecker.keepalived.org) */
  heloName?: string;
  /** the whole conversation at most (default 4 connect timeouts: connect and three reads) */
  maxExchangeMs?: number;
}

export type ReplyLine = { code: number; last: boolean; text: string } | null;

/** A reply line's code (keepalived's smtp_get_status, plus RFC 5321's "NNN-" continuation): null when there is none. */
export function parseReplyLine(line: string): ReplyLine {
  const m = /^(\d{3})([ -]|$)(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m) return null;
  return { code: Number(m[1]), last: m[2] !== '-', text: m[3] ?? '' };
}

/** A bounded line reader on a socket: the reply lines as they come, or why none will. */
class Lines {
  private buf = '';
  private ended: ProbeResult | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly what: string,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      // A full line can sit in the buffer; only the part after the last line end is bounded.
      const tail = this.buf.length - (this.buf.lastIndexOf('\n') + 1);
      if (tail > MAX_LINE_BYTES) this.end(fail('protocol', `${what}: a line longer than ${MAX_LINE_BYTES} bytes (not an SMTP reply)`), true);
      else this.wake?.();
    });
    socket.on('end', () => this.end(fail('protocol', `${what}: the server closed the connection`)));
    socket.on('error', (err) => this.end(errorResult(err, what)));
  }

  /** No more bytes will come; lines already read stay readable unless `drop` (an overlong line). */
  private end(r: ProbeResult, drop = false): void {
    this.ended ??= r;
    if (drop) {
      this.buf = '';
      this.socket.destroy();
    }
    this.wake?.();
  }

  /** The deadline (the whole conversation's cap) is a timeout; the caller's abort is an abort. */
  private abortResult(signal: AbortSignal): ProbeResult {
    return signal.reason === 'deadline' ? fail('timeout', `${this.what}: conversation too long`) : fail('aborted', `${this.what}: aborted`);
  }

  /** Forgets what was read but not asked for (keepalived clears its buffer before each read). */
  clear(): void {
    this.buf = '';
  }

  /** The next line within `idleMs` of the last byte, or the failure. */
  async next(idleMs: number, signal: AbortSignal): Promise<string | ProbeResult> {
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (this.ended) return this.ended;
      if (signal.aborted) return this.abortResult(signal);
      const before = this.buf.length;
      const woke = await new Promise<'data' | 'idle' | 'abort'>((resolve) => {
        const timer = setTimeout(() => finish('idle'), idleMs);
        const onAbort = (): void => finish('abort');
        const finish = (why: 'data' | 'idle' | 'abort'): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.wake = undefined;
          resolve(why);
        };
        this.wake = () => finish('data');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (woke === 'abort') return this.abortResult(signal);
      if (woke === 'idle' && this.buf.length === before && !this.ended) return fail('timeout', `${this.what}: no reply within ${idleMs} ms`);
    }
  }
}

/** Reads one (possibly multi-line) reply: its code and first line, or the failure. */
async function readReply(lines: Lines, idleMs: number, signal: AbortSignal, what: string): Promise<{ code: number; text: string } | ProbeResult> {
  let first: string | undefined;
  for (let i = 0; i < MAX_REPLY_LINES; i++) {
    const line = await lines.next(idleMs, signal);
    if (typeof line !== 'string') return line;
    const r = parseReplyLine(line);
    if (r === null) return fail('smtp', `${what}: not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`);
    first ??= line.replace(/\r$/, '');
    if (r.last) return { code: r.code, text: first };
  }
  return fail('protocol', `${what}: a reply of more than ${MAX_REPLY_LINES} lines`);
}

function write(socket: Socket, text: string): void {
  if (!socket.destroyed) socket.write(text, 'latin1');
}

export async function smtpProbe(target: ProbeTarget, options: SmtpProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  const idleMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort('deadline'), options.maxExchangeMs ?? 4 * idleMs);
  const onAbort = (): void => deadline.abort('aborted');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal?.aborted) deadline.abort('aborted');
  let socket: Socket | undefined;
  try {
    const dst = destination(target, options);
    const what = `smtp ${dst.family === 6 ? `[${dst.host}]` : dst.host}:${dst.port}`;
    const started = performance.now();
    const c = await openTcp(dst, options, deadline.signal);
    if (!c.ok) return c.result;
    socket = c.socket;
    const lines = new Lines(socket, what);
    const banner = await readReply(lines, idleMs, deadline.signal, what);
    if (!('code' in banner)) return banner;
    if (banner.code !== 220) return fail('smtp', `${what}: bad greeting banner: ${JSON.stringify(banner.text.slice(0, 120))}`);
    lines.clear();
    const helo = options.heloName ?? DEFAULT_HELO_NAME;
    write(socket, `HELO ${helo}\r\n`);
    const heloReply = await readReply(lines, idleMs, deadline.signal, what);
    if (!('code' in heloReply)) return heloReply;
    if (heloReply.code !== 250) return fail('smtp', `${what}: bad HELO response: ${JSON.stringify(heloReply.text.slice(0, 120))}`);
    lines.clear();
    write(socket, 'QUIT\r\n');
    // keepalived's SMTP_RECV_QUIT: any line will do, but a line must come.
    const bye = await lines.next(idleMs, deadline.signal);
    if (typeof bye !== 'string') return bye;
    return { ok: true, detail: `${what}: ${banner.text.slice(0, 60)}; HELO ${helo} accepted in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    return fail('connect', `unexpected: ${String(err)}`);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onAbort);
    socket?.destroy();
  }
}
