/**
 * The one HTTP call every paging notifier makes: send a JSON body, get the status and
 * the response text back. Errors are values: a transport failure (refused, reset, DNS,
 * TLS) is `{ kind: 'network' }`; only the caller's abort rejects, because then the
 * step is being cancelled or timed out and nothing is left to decide.
 */

export interface JsonRequest {
  url: string;
  /** Default POST. */
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body: unknown;
  /** The step's signal: aborting it abandons the request. */
  signal: AbortSignal;
}

export type HttpResult = { kind: 'response'; status: number; body: string } | { kind: 'network'; message: string };

/** At most this much of a response body is kept (error messages quote an excerpt). */
const MAX_BODY = 64 * 1024;

/**
 * Sends `body` as JSON. Resolves with the response (any status) or a network failure.
 * @throws the signal's reason when `signal` aborts before the response has arrived.
 */
export async function sendJson(req: JsonRequest): Promise<HttpResult> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method ?? 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...req.headers },
      body: JSON.stringify(req.body),
      signal: req.signal,
      redirect: 'error',
    });
  } catch (e) {
    if (req.signal.aborted) throw req.signal.reason;
    return { kind: 'network', message: causeText(e) };
  }
  let body = '';
  try {
    body = (await res.text()).slice(0, MAX_BODY);
  } catch (e) {
    if (req.signal.aborted) throw req.signal.reason;
    // The status already tells what happened; a body cut short only loses detail.
  }
  return { kind: 'response', status: res.status, body };
}

/** undici reports "fetch failed" and puts the useful part (ECONNREFUSED ...) in `cause`. */
function causeText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const c = (e as Error & { cause?: unknown }).cause;
  if (c instanceof Error) {
    const code = (c as NodeJS.ErrnoException).code;
    return code && !c.message.includes(code) ? `${code}: ${c.message}` : c.message;
  }
  return e.message;
}

/** The first `max` characters of a body on one line, for error messages. */
export function excerpt(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/**
 * How a call ended, as the step must treat it: `retryable` failures are thrown so the
 * step's retry policy applies; permanent ones must not be sent again (see PermanentFailures).
 */
export type Delivery = { ok: true; detail?: Readonly<Record<string, unknown>> } | { ok: false; retryable: boolean; message: string };

/** Network failures, 408, 429 and 5xx may succeed later; any other failure will not. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** A transport failure seen by `what` (e.g. "PagerDuty"), as a Delivery. */
export function networkFailure(what: string, url: string, r: { message: string }): Delivery {
  return { ok: false, retryable: true, message: `${what}: ${safeUrl(url)} unreachable: ${r.message}` };
}

/** A URL without user info or query string, so a secret in either never reaches a log. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Remembers the deliveries a receiver refused for good (400 and the like), by the step's
 * idempotency key. The workflow runner retries every thrown error per the step's policy;
 * a retry of a refused delivery fails at once from this memory instead of sending the
 * same bad request again. Bounded: the oldest entries go first.
 */
export class PermanentFailures {
  private readonly seen = new Map<string, string>();
  constructor(private readonly limit = 256) {}

  get(key: string): string | undefined {
    return this.seen.get(key);
  }

  add(key: string, message: string): void {
    this.seen.delete(key);
    this.seen.set(key, message);
    while (this.seen.size > this.limit) this.seen.delete(this.seen.keys().next().value as string);
  }
}
