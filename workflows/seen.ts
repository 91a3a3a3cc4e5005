/**
 * A set that forgets its oldest members beyond a limit: the runner's memory of event
 * ids already handled. In-process only, so a restart forgets it; worker mode
 * (worker.ts, claims.ts) keeps run records in a KV bucket instead, so redeliveries after
 * a restart are refused too.
 */
export class BoundedSet<T> {
  private readonly items = new Set<T>();

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error('BoundedSet: limit must be >= 1');
  }

  has(v: T): boolean {
    return this.items.has(v);
  }

  /** Adds `v`; returns false when it was already present. */
  add(v: T): boolean {
    if (this.items.has(v)) return false;
    this.items.add(v);
    // A Set iterates in insertion order, so the first key is the oldest.
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value as T);
    return true;
  }

  get size(): number {
    return this.items.size;
  }
}
