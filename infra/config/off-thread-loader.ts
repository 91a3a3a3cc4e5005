/**
 * Loads keepalived.conf on a worker thread. Parsing and validating a large
 * file (2,000 virtual servers / 37,000 real servers: 6.6 MB) costs a few
 * hundred milliseconds of CPU and garbage; on the daemon's own thread that is
 * time no advert is sent and no probe answered, and its collector must trace
 * the daemon's whole heap. The worker has a small heap of its own and a core
 * of its own, and sends back only what changed (off-thread-protocol.ts).
 *
 * vipflow.config.ts modules load on the calling thread (they are imported
 * through the daemon's module hooks). Should the worker fail or die, the
 * load runs on the calling thread and the next one starts a new worker.
 *
 * The worker stays between loads only for a config with virtual servers: it
 * holds the running model so a reload sends back only the virtual servers that
 * changed. Without any there is nothing to share, and an idle worker's isolate
 * and modules cost about 20 MiB of RSS for the daemon's whole life, so it ends
 * after the load and a reload starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { LoadConfigOptions, LoadConfigResult } from '../../config/load.js';
import { detectFormat } from '../../config/format.js';
import type { VipflowConfig } from '../../config/model.js';
import type { LbBackendName } from '../../config/lb-support.js';
import type { Logger } from '../../core/logger.js';
import { decodeModel, type LoadReply, type LoadRequest } from './off-thread-protocol.js';

export interface OffThreadLoadOptions {
  configIds?: string[] | undefined;
  /** passed to the semantic checks: virtual servers this backend cannot balance are errors */
  lbBackend?: LbBackendName | undefined;
  /** The model the caller runs: virtual servers equal to its own come back as its objects. */
  running?: VipflowConfig | undefined;
  /** The host's interfaces (ADDR/PREFIX by name): the config is checked against this host (config/host-check.ts). Undefined: not checked. */
  hostInterfaces?: Record<string, string[]> | undefined;
}

export class OffThreadConfigLoader {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (reply: LoadReply) => void; reject: (err: Error) => void }>();
  /** Models this loader returned, so a later request can name one as its base. */
  private ids = new WeakMap<VipflowConfig, number>();
  private closed = false;

  constructor(private readonly log: Logger) {}

  async load(path: string, options: OffThreadLoadOptions = {}): Promise<LoadConfigResult> {
    const loadOptions: LoadConfigOptions = {
      ...(options.configIds ? { configIds: options.configIds } : {}),
      ...(options.lbBackend ? { lbBackend: options.lbBackend } : {}),
    };
    const hostInterfaces = options.hostInterfaces;
    // Functions do not cross to the worker: it builds its own file and user lookups around the interfaces.
    // The loaders (and zod) are imported on this thread only when the load runs here.
    const here = async (): Promise<LoadConfigResult> => (await import('./load-on-host.js')).loadOnHost(path, loadOptions, hostInterfaces);
    if (this.closed || detectFormat(path) !== 'keepalived') return here();
    const base = options.running !== undefined ? this.ids.get(options.running) : undefined;
    let reply: LoadReply;
    try {
      reply = await this.ask({
        id: this.nextId++,
        path,
        options: loadOptions,
        ...(base !== undefined ? { base } : {}),
        ...(hostInterfaces ? { hostInterfaces } : {}),
      });
    } catch (err) {
      this.log.warn({ err }, 'configuration worker failed: loading on the main thread');
      return here();
    }
    if (reply.error !== undefined) {
      this.log.warn({ error: reply.error }, 'configuration worker failed: loading on the main thread');
      return here();
    }
    const out: LoadConfigResult = { ...reply.result };
    if (reply.model !== undefined) {
      const model = decodeModel(reply.model, options.running);
      if (model === undefined) {
        this.log.warn('configuration worker named a virtual server the running model lacks: loading on the main thread');
        return here();
      }
      this.ids.set(model, reply.id);
      out.model = model;
    }
    if (out.model === undefined || out.model.virtualServers.length === 0) await this.retireWorker();
    return out;
  }

  /** A worker is held between loads (only after a config with virtual servers). */
  get holdsWorker(): boolean {
    return this.worker !== null;
  }

  /** Ends the worker; later loads run on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** Ends an idle worker (nothing to share with the next load); the next load starts a new one. */
  private async retireWorker(): Promise<void> {
    const w = this.worker;
    if (w === null || this.waiting.size > 0) return;
    this.worker = null;
    // A new worker holds no model: a base named from this one's ids would not be found.
    this.ids = new WeakMap();
    await w.terminate();
  }

  private ask(req: LoadRequest): Promise<LoadReply> {
    const worker = this.worker ?? this.startWorker();
    return new Promise<LoadReply>((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject });
      // Held only while a load is asked for: an idle worker never keeps the process alive.
      worker.ref();
      try {
        worker.postMessage(req);
      } catch (err) {
        this.waiting.delete(req.id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    }).finally(() => {
      if (this.waiting.size === 0) this.worker?.unref();
    });
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: LoadReply) => {
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      w?.resolve(reply);
    });
    let failure: Error | undefined;
    worker.on('error', (err) => (failure = err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      const err = failure ?? new Error(`configuration worker exited with code ${code}`);
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
    this.worker = worker;
    return worker;
  }
}
