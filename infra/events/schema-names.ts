/**
 * The parts of the event schema (schema.ts) that a publisher needs at run
 * time without zod: the envelope's schema name, the cluster name rule and the
 * instance an event is about. Making and delivering events uses only these;
 * zod (about 14 MiB of RSS) loads only where events are validated.
 */

export const EVENT_SCHEMA = 'vipflow.event/v1';

/** Cluster names become subject tokens, stream and KV bucket names: keep them plain. */
export const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The instance an event is about, or undefined for daemon-wide events. */
export function instanceOf(event: { data: unknown }): string | undefined {
  const d = event.data as { instance?: unknown };
  return typeof d.instance === 'string' && d.instance !== '' ? d.instance : undefined;
}
