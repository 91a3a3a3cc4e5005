/** A system call's outcome at the wire boundary: a value, or the errno name. */
export type SysResult<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Turns an errno-coded Error thrown by the addon into a failed result. */
export function failureFrom(error: unknown): { ok: false; code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown };
  return {
    ok: false,
    code: typeof e.code === 'string' ? e.code : 'EUNKNOWN',
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}
