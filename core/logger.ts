import { pino, type Logger, type LoggerOptions } from 'pino';
import { stdoutIsJournal, withSyslogPrefix } from './journal-level.js';
import { prettyDestination } from './pretty-log.js';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** Human-readable lines (core/pretty-log.ts), coloured only on a terminal; JSON otherwise (the default, for machines). */
  pretty?: boolean;
  /** Where to write; stdout by default. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

/**
 * The root logger. Every module takes a Logger and derives children with
 * context (`log.child({ instance, vrid })`) rather than creating its own, so
 * one setting controls the whole process.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: 'vipflow',
    level: settings.level ?? process.env.VIPFLOW_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (settings.pretty) return pino(options, prettyDestination(settings.destination ?? process.stdout));
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  // Under systemd each line carries its level for the journal (core/journal-level.ts).
  if (stdoutIsJournal()) options.hooks = { streamWrite: withSyslogPrefix };
  return pino(options);
}

/** A logger that discards everything: for tests and benchmarks that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
