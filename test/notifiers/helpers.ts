/** Shared bits of the notifier tests: a pino logger that keeps its records, temp dirs, script files. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../core/logger.js';

export interface LogRecord {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A logger whose records land in `records` (parsed JSON). */
export function recordingLogger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void records.push(JSON.parse(s) as LogRecord) });
  return { log, records };
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `vfnt-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an executable /bin/sh script (mode 0755 unless told). */
export function writeScript(path: string, body: string, mode = 0o755): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

export async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number, stepMs = 10): Promise<T | undefined> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (performance.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
