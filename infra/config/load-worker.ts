/**
 * The worker-thread side of off-thread-loader.ts: loads a configuration and
 * sends it back, with the virtual servers that equal ones of the model the
 * daemon runs sent as indices into it instead of as data (see
 * encodeVirtualServers). Keeps the last models it sent so that the next
 * request can name one as its base.
 */
import { parentPort } from 'node:worker_threads';
import type { VipflowConfig } from '../../config/model.js';
import { VirtualServerReuse } from '../../config/virtual-server-reuse.js';
import { loadOnHost } from './load-on-host.js';
import { encodeVirtualServers, type LoadReply, type LoadRequest } from './off-thread-protocol.js';

/** Models sent, by id: the daemon's running one (a request's base) and the newest. */
const sent = new Map<number, VipflowConfig>();
/** The last load's validated virtual servers: a reload validates only those that changed. */
const reuse = new VirtualServerReuse();

async function answer(req: LoadRequest): Promise<LoadReply> {
  const loaded = await loadOnHost(req.path, { ...req.options, reuse }, req.hostInterfaces);
  const baseId = req.base;
  const base = baseId !== undefined ? sent.get(baseId) : undefined;
  for (const id of [...sent.keys()]) if (id !== baseId) sent.delete(id);
  if (loaded.model === undefined) return { id: req.id, result: loaded };
  sent.set(req.id, loaded.model);
  const { model, ...rest } = loaded;
  if (base === undefined || baseId === undefined) return { id: req.id, result: rest, model: { config: model } };
  const { virtualServers, ...others } = model;
  return { id: req.id, result: rest, model: { config: others, base: baseId, virtualServers: encodeVirtualServers(virtualServers, base.virtualServers) } };
}

const port = parentPort;
if (port === null) throw new Error('load-worker.js runs as a worker thread (infra/config/off-thread-loader.ts starts it)');
port.on('message', (req: LoadRequest) => {
  answer(req).then(
    (reply) => port.postMessage(reply),
    (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies LoadReply),
  );
});
