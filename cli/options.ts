/**
 * Option parsers and checks shared by the command definitions. Each throws
 * commander's InvalidArgumentError, so a bad value becomes one line naming the
 * option and exit 2, whether it came from the command line or the environment.
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';

/** pino's levels, most severe first; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LB_BACKENDS = ['auto', 'nftables', 'ipvs', 'none'] as const;

/** A repeatable option: every occurrence adds its value. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** An integer in [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** A positive number no larger than max. */
export function positiveUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`Expected a positive number up to ${max}.`);
    return n;
  };
}

/** A number of milliseconds, 0 or more. */
export function milliseconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('Expected a number of milliseconds.');
  return n;
}
