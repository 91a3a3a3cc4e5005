/**
 * One DNS request/response exchange over UDP. A connected socket makes the kernel drop
 * datagrams from any other address and port, and turns an ICMP port-unreachable into
 * an error instead of a silent wait.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

export type ExchangeResult = { ok: true; response: Buffer } | { ok: false; reason: 'timeout' | 'unreachable' | 'error' | 'aborted'; message: string };

export interface ExchangeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Whether a datagram answers this request (e.g. its ID matches); others are ignored. */
  accept: (response: Buffer) => boolean;
}

/**
 * Sends `request` to `server`:`port` once and waits up to `timeoutMs` for an accepted
 * response. Never rejects; the socket is closed in every case.
 */
export function exchangeUdp(server: string, port: number, request: Buffer, o: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const where = `${isIP(server) === 6 ? `[${server}]` : server}:${port}`;
    if (o.signal?.aborted) return resolve({ ok: false, reason: 'aborted', message: 'aborted before sending' });
    const socket = createSocket(isIP(server) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: ExchangeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const onAbort = () => finish({ ok: false, reason: 'aborted', message: 'aborted' });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          reason: 'timeout',
          message: `no response from ${where} within ${o.timeoutMs} ms; check the server address and port, and that UDP reaches it`,
        }),
      o.timeoutMs,
    );
    o.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('message', (msg) => {
      if (o.accept(msg)) finish({ ok: true, response: msg });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED')
        finish({ ok: false, reason: 'unreachable', message: `${where} refused the datagram (ICMP port unreachable): no DNS server listens there` });
      else finish({ ok: false, reason: 'error', message: `sending to ${where} failed: ${e.message}` });
    });
    socket.connect(port, server, () => {
      socket.send(request, (e) => {
        if (e) finish({ ok: false, reason: 'error', message: `sending to ${where} failed: ${e.message}` });
      });
    });
  });
}
