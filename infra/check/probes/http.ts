/**
 * HTTP_GET and SSL_GET (keepalived's check_http.c and check_ssl.c): for each
 * `url` block in order, connect, send keepalived's GET request, read the
 * response and check, in keepalived's order (http_handle_response): that a
 * response came at all, its status code, the MD5 digest of its body, then the
 * regex. The first url that fails fails the check.
 *
 * Written on node:net / node:tls rather than node:http: the digest must be the
 * MD5 of the bytes after the header exactly as keepalived sees them (no
 * de-chunking, capped at Content-Length), the request line and headers must be
 * keepalived's byte for byte, and the header must end within keepalived's
 * 4095-byte buffer; node:http would decode, add headers and accept more.
 */
import { createHash, type Hash } from 'node:crypto';
import { isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { destination, errorResult, openTcp, type Destination } from './connect.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, fail, type ConnectOptions, type ProbeContext, type ProbeResult, type ProbeTarget } from './types.js';

export interface HttpUrl {
  path: string;
  /** 32 hex digits: MD5 of the body */
  digest?: string;
  /** "NNN" or "NNN-NNN"; absent or empty: keepalived's default 200-299 */
  statusCode?: string[];
  virtualhost?: string;
  /** searched in the body (a JavaScript RegExp; keepalived uses PCRE2) */
  regex?: string;
  regexNoMatch?: boolean;
}

export type HttpProtocol = '1.0' | '1.1' | '1.0C' | '1.0c';

export interface HttpProbeOptions extends ConnectOptions {
  /** SSL_GET */
  tls?: boolean;
  /** SSL_GET: the SSL block's client certificate */
  clientCertificate?: ClientCertificate;
  urls: HttpUrl[];
  /** the checker's virtualhost */
  virtualhost?: string;
  /** the real server's and the virtual server's virtualhost, next in keepalived's order */
  realServerVirtualhost?: string;
  virtualServerVirtualhost?: string;
  /** default '1.0', keepalived's */
  httpProtocol?: HttpProtocol;
  enableSni?: boolean;
  sniName?: string;
  /** send a TLS close_notify before closing (keepalived: no SSL_set_quiet_shutdown) */
  tlsCompliant?: boolean;
  /** body bytes digested or searched at most (default 16 MiB); a larger body fails a digest or regex check */
  maxBodyBytes?: number;
  /** one url's exchange at most (default: 6 connect timeouts, at least 30 s) */
  maxExchangeMs?: number;
}

/** keepalived's MAX_BUFFER_LENGTH - 1: the header must end within the first read buffer. */
export const MAX_HEADER_BYTES = 4095;
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** keepalived's request_template / request_template_ipv6 (http_request_thread). */
export function buildRequest(path: string, protocol: HttpProtocol | undefined, dst: Destination, vhost: string | undefined): string {
  const minor = protocol === '1.1' ? 1 : 0;
  const close = protocol === '1.1' || protocol === '1.0C' || protocol === '1.0c' ? 'Connection: close\r\n' : '';
  // With a virtualhost keepalived sends it alone; without, the address it connects to and ":port",
  // an IPv6 literal in brackets (RFC 2732).
  const host = vhost ?? `${isIPv6(dst.host) ? `[${dst.host}]` : dst.host}:${dst.port}`;
  return `GET ${path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

/** The Host: url's virtualhost, else the checker's, else the real server's, else the virtual server's. */
export function requestVhost(url: HttpUrl, o: HttpProbeOptions): string | undefined {
  return url.virtualhost ?? o.virtualhost ?? o.realServerVirtualhost ?? o.virtualServerVirtualhost;
}

/**
 * The SNI name (ssl_connect): only with enable_sni; sni_name, else the url's,
 * the checker's or the virtual server's virtualhost. keepalived skips the real
 * server's virtualhost here.
 */
export function sniName(url: HttpUrl, o: HttpProbeOptions): string | undefined {
  if (!o.enableSni) return undefined;
  return o.sniName ?? url.virtualhost ?? o.virtualhost ?? o.virtualServerVirtualhost;
}

/** keepalived's extract_status_code: the 3 digits after the first space, followed by a space; else 0. */
export function extractStatusCode(header: string): number {
  const sp = header.search(/[ \r]/);
  if (sp < 0 || header[sp] !== ' ') return 0;
  const code = header.slice(sp + 1, sp + 4);
  if (!/^\d{3}$/.test(code) || header[sp + 4] !== ' ') return 0;
  return Number(code);
}

/** keepalived's extract_content_length: "Content-Length:" (case as written), digits, then CR, LF or the end; else null. */
export function extractContentLength(header: string): number | null {
  const at = header.indexOf('Content-Length:');
  if (at < 0) return null;
  const m = /^[ \t\n\v\f\r]*[+]?(\d*)/.exec(header.slice(at + 'Content-Length:'.length));
  const rest = header.slice(at + 'Content-Length:'.length + (m?.[0].length ?? 0));
  if (rest.length > 0 && rest[0] !== '\r' && rest[0] !== '\n') return null;
  return m?.[1] ? Number(m[1]) : 0;
}

export interface StatusSet {
  test(code: number): boolean;
  text: string;
}

/** status_code entries ("NNN" or "NNN-NNN"), keepalived's default 200-299 when none (url_check). */
export function statusSet(specs: readonly string[] | undefined): StatusSet {
  const ranges: [number, number][] = [];
  for (const s of specs ?? []) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(s.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 599 || lo > hi) continue; // keepalived rejects it at parse time
    ranges.push([lo, hi]);
  }
  if (ranges.length === 0) ranges.push([200, 299]);
  return {
    test: (code) => code >= 100 && code <= 599 && ranges.some(([lo, hi]) => code >= lo && code <= hi),
    text: ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(','),
  };
}

/** keepalived's SSL block: the certificate chain, key (and its password) SSL_GET presents, and the CA file it loads. */
export interface ClientCertificate {
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  ca?: string | Buffer;
}

export interface ExchangeSpec extends ConnectOptions {
  dst: Destination;
  clientCertificate?: ClientCertificate;
  request: string;
  tls: boolean;
  servername?: string;
  tlsCompliant?: boolean;
  /** compute the body's MD5 */
  digest: boolean;
  regex?: RegExp;
  maxBodyBytes: number;
  maxExchangeMs: number;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  /** the status line as received */
  statusLine: string;
  contentLength: number | null;
  /** bytes received after the header */
  bodyBytes: number;
  /** lower-case hex MD5, when asked */
  digest?: string;
  regexMatched?: boolean;
}

export type Exchanged = { ok: true; response: Response } | { ok: false; result: ProbeResult };

/**
 * One request and its response on a fresh connection (keepalived's
 * http_connect_thread .. http_read_thread / ssl_read_thread). Never throws.
 * Each read waits at most connect_timeout, as keepalived's read threads do; the
 * whole exchange at most `maxExchangeMs`.
 */
export async function exchange(spec: ExchangeSpec): Promise<Exchanged> {
  const timeoutMs = spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const started = performance.now();
  const c = await openTcp(spec.dst, spec, spec.signal);
  if (!c.ok) return c;
  let socket: Socket | TLSSocket = c.socket;
  if (spec.tls) {
    // The handshake shares the connect timer (keepalived: the remaining time of thread->sands).
    const hs = await handshake(c.socket, spec, Math.max(1, timeoutMs - (performance.now() - started)));
    if (!hs.ok) return hs;
    socket = hs.socket;
  }
  return readResponse(socket, spec, timeoutMs);
}

function handshake(raw: Socket, spec: ExchangeSpec, timeoutMs: number): Promise<{ ok: true; socket: TLSSocket } | { ok: false; result: ProbeResult }> {
  return new Promise((resolve) => {
    // Errors of the TCP socket reach the TLS socket; this keeps one from being unhandled.
    raw.on('error', () => undefined);
    let s: TLSSocket;
    try {
      s = tlsConnect({
        socket: raw,
        // keepalived never asks OpenSSL to verify the server (build_ssl_ctx sets no verify mode,
        // so even a configured CA file only joins the context): neither do we.
        rejectUnauthorized: false,
        ...(spec.clientCertificate ?? {}),
        ...(spec.servername !== undefined && isIP(spec.servername) === 0 ? { servername: spec.servername } : {}),
      });
    } catch (err) {
      raw.destroy();
      resolve({ ok: false, result: fail('tls', `TLS: ${String(err)}`) });
      return;
    }
    let settled = false;
    const done = (v: { ok: true; socket: TLSSocket } | { ok: false; result: ProbeResult }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      s.removeListener('error', onError);
      s.removeListener('close', onClose);
      if (!v.ok) {
        s.destroy();
        raw.destroy();
      }
      resolve(v);
    };
    const onError = (err: Error) => done({ ok: false, result: fail('tls', `TLS handshake: ${err.message}`) });
    const onClose = () => done({ ok: false, result: fail('tls', 'TLS handshake: connection closed by the server') });
    const onAbort = () => done({ ok: false, result: fail('aborted', 'TLS handshake: aborted') });
    const timer = setTimeout(() => done({ ok: false, result: fail('timeout', `TLS handshake not complete within ${Math.round(timeoutMs)} ms`) }), timeoutMs);
    s.once('secureConnect', () => done({ ok: true, socket: s }));
    s.once('error', onError);
    s.once('close', onClose);
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const HEADER_END = Buffer.from('\r\n\r\n');

function readResponse(socket: Socket | TLSSocket, spec: ExchangeSpec, readTimeoutMs: number): Promise<Exchanged> {
  return new Promise<Exchanged>((resolve) => {
    let header: Buffer = Buffer.alloc(0);
    let headerDone = false;
    let status = 0;
    let statusLine = '';
    let contentLength: number | null = null;
    let bodyBytes = 0;
    let hashed = 0;
    const md5: Hash | null = spec.digest ? createHash('md5') : null;
    // The regex runs over a sliding window: the new bytes plus up to MAX_HEADER_BYTES of
    // the previous ones, so a match across two reads is found (as keepalived keeps a
    // partial PCRE2 match in its buffer) while memory stays bounded.
    let carry = '';
    let regexMatched = false;
    let settled = false;

    const finish = (v: Exchanged) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      spec.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.setTimeout(0);
      if (spec.tls && spec.tlsCompliant && !socket.destroyed) {
        // close_notify, then close; bounded in case the peer never reads it.
        const t = setTimeout(() => socket.destroy(), 1000);
        t.unref();
        socket.end(() => {
          clearTimeout(t);
          socket.destroy();
        });
      } else socket.destroy();
      resolve(v);
    };
    const complete = () => {
      if (settled) return;
      if (!headerDone) {
        finish({ ok: false, result: fail('protocol', `no data received (${header.length} bytes, no end of HTTP header)`) });
        return;
      }
      finish({
        ok: true,
        response: {
          status,
          statusLine,
          contentLength,
          bodyBytes,
          ...(md5 ? { digest: md5.digest('hex') } : {}),
          ...(spec.regex ? { regexMatched } : {}),
        },
      });
    };
    const body = (chunk: Buffer) => {
      const limit = contentLength ?? Infinity;
      const wanted = spec.digest || spec.regex !== undefined;
      if (wanted && Math.min(bodyBytes + chunk.length, limit) > spec.maxBodyBytes) {
        finish({ ok: false, result: fail('protocol', `body larger than the ${spec.maxBodyBytes}-byte cap for digest/regex checks`) });
        return;
      }
      // keepalived digests at most Content-Length bytes (http_process_response).
      const take = Math.max(0, Math.min(chunk.length, limit - hashed));
      if (take > 0) {
        const part = take === chunk.length ? chunk : chunk.subarray(0, take);
        md5?.update(part);
        if (spec.regex && !regexMatched) {
          const text = carry + part.toString('latin1');
          spec.regex.lastIndex = 0;
          if (spec.regex.test(text)) regexMatched = true;
          carry = text.slice(-MAX_HEADER_BYTES);
        }
        hashed += take;
      }
      bodyBytes += chunk.length;
      // Once Content-Length bytes are in, nothing later can change the outcome: stop
      // reading (keepalived reads on to EOF, and only logs a length mismatch).
      if (contentLength !== null && bodyBytes >= contentLength) complete();
      else if (!wanted && bodyBytes > spec.maxBodyBytes) complete();
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      if (headerDone) {
        body(chunk);
        return;
      }
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf(HEADER_END);
      if (end < 0 || end + 4 > MAX_HEADER_BYTES) {
        if (header.length >= MAX_HEADER_BYTES)
          finish({ ok: false, result: fail('protocol', `no end of HTTP header within the first ${MAX_HEADER_BYTES} bytes`) });
        return;
      }
      headerDone = true;
      const text = header.subarray(0, end + 4).toString('latin1');
      status = extractStatusCode(text);
      statusLine = text.slice(0, text.indexOf('\r\n'));
      contentLength = extractContentLength(text);
      const rest = header.subarray(end + 4);
      header = Buffer.alloc(0);
      if (rest.length > 0) body(rest);
      else if (contentLength === 0) complete();
    };
    const onAbort = () => finish({ ok: false, result: fail('aborted', 'aborted') });
    socket.on('data', onData);
    socket.on('end', complete);
    socket.on('close', () => complete());
    socket.on('error', (err) => {
      // keepalived: a read error fails an HTTP check; an SSL read error ends the stream
      // like EOF (ssl_read_thread), so a response already read still counts.
      if (spec.tls) complete();
      else finish({ ok: false, result: errorResult(err, 'read') });
    });
    socket.setTimeout(readTimeoutMs, () => finish({ ok: false, result: fail('timeout', `no data for ${readTimeoutMs} ms while reading the response`) }));
    const overall = setTimeout(
      () => finish({ ok: false, result: fail('timeout', `response not complete within ${spec.maxExchangeMs} ms`) }),
      spec.maxExchangeMs,
    );
    if (spec.signal?.aborted) {
      onAbort();
      return;
    }
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(spec.request, (err) => {
      if (err && !settled) finish({ ok: false, result: errorResult(err, 'send request') });
    });
  });
}

function compileRegex(source: string): RegExp | string {
  try {
    return new RegExp(source);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function exchangeLimits(o: HttpProbeOptions): { maxBodyBytes: number; maxExchangeMs: number } {
  const t = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return { maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, maxExchangeMs: o.maxExchangeMs ?? Math.max(30_000, 6 * t) };
}

/** One url of an HTTP_GET / SSL_GET check; the failure's detail names the url. */
export async function checkUrl(target: ProbeTarget, o: HttpProbeOptions, url: HttpUrl, signal?: AbortSignal): Promise<ProbeResult> {
  const where = `url ${url.path}`;
  let regex: RegExp | undefined;
  if (url.regex !== undefined) {
    const r = compileRegex(url.regex);
    if (typeof r === 'string') return fail('config', `${where}: bad regex: ${r}`);
    regex = r;
  }
  const dst = destination(target, o);
  const servername = sniName(url, o);
  const x = await exchange({
    ...o,
    ...exchangeLimits(o),
    dst,
    request: buildRequest(url.path, o.httpProtocol, dst, requestVhost(url, o)),
    tls: o.tls ?? false,
    ...(servername !== undefined ? { servername } : {}),
    digest: url.digest !== undefined,
    ...(regex ? { regex } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!x.ok) return { ...x.result, detail: `${where}: ${x.result.ok ? '' : x.result.detail}` } as ProbeResult;
  const r = x.response;
  const codes = statusSet(url.statusCode);
  if (!codes.test(r.status))
    return fail('status', r.status === 0 ? `${where}: no status code in '${r.statusLine.slice(0, 80)}'` : `${where}: status ${r.status} not in ${codes.text}`);
  if (url.digest !== undefined && r.digest !== url.digest.toLowerCase())
    return fail('digest', `${where}: digest mismatch (got ${r.digest ?? '-'}, want ${url.digest.toLowerCase()})`);
  if (regex && r.regexMatched === (url.regexNoMatch ?? false))
    return fail('regex', `${where}: ${url.regexNoMatch ? `body matches /${url.regex}/ (regex_no_match)` : `body does not match /${url.regex}/`}`);
  const what = url.digest !== undefined ? 'digest' : regex ? 'regex' : 'status';
  return { ok: true, detail: `${where}: ${what} ok (status ${r.status}, ${r.bodyBytes} body bytes)` };
}

/** HTTP_GET (`tls` unset) or SSL_GET (`tls: true`): every url in order, the first failure fails the check. */
export async function httpProbe(target: ProbeTarget, options: HttpProbeOptions, ctx: ProbeContext = {}): Promise<ProbeResult> {
  try {
    if (options.urls.length === 0) return fail('config', `${options.tls ? 'SSL_GET' : 'HTTP_GET'} has no url`);
    const details: string[] = [];
    for (const url of options.urls) {
      const r = await checkUrl(target, options, url, ctx.signal);
      if (!r.ok) return r;
      if (r.detail) details.push(r.detail);
    }
    return { ok: true, detail: details.join('; ') };
  } catch (err) {
    return fail('protocol', `unexpected: ${String(err)}`);
  }
}
