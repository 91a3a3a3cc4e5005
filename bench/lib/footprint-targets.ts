// Issue 16's footprint targets, judged from one footprint run's medians, so
// the bench says met or not met itself instead of leaving it to whoever reads
// the table. Pure: the bench hands in figures, this hands back verdicts.

export type Role = 'master' | 'backup';

/** Median figures of one implementation at one instance count; null where it has none (did not converge, failed). */
export type RoleFigures = Record<Role, { cpuPct: number; rssMiB: number } | null>;

export interface CountFigures {
  count: number;
  vipflow: RoleFigures;
  keepalived: RoleFigures;
}

export interface Verdict {
  target: string;
  figures: string;
  /** null: not judged (a figure is missing); the reason is in `figures`. */
  met: boolean | null;
}

/** Idle daemon with one instance: at most 1 ms of CPU a second, that is 0.1% of one core. */
export const IDLE_CPU_PCT = 0.1;
/** Master and Backup each at most this many times keepalived's CPU in the same run. */
export const CPU_RATIO = 1.5;
/** Resident memory bounds by instance count. */
export const RSS_MIB: ReadonlyMap<number, number> = new Map([
  [1, 45],
  [1000, 80],
]);

const ROLES: readonly Role[] = ['master', 'backup'];

/**
 * The verdicts for the counts measured. The idle target is judged at 1 s
 * adverts only: an idle daemon is one at the default interval, and at 0.1 s
 * keepalived's own Master with one instance spends more than 1 ms/s.
 */
export function footprintVerdicts(rows: readonly CountFigures[], advertIntS: number): Verdict[] {
  const out: Verdict[] = [];
  for (const row of rows) {
    const n = `${row.count.toLocaleString('en')} instance${row.count === 1 ? '' : 's'}`;
    const vf = row.vipflow;
    const missing = ROLES.filter((r) => vf[r] === null);
    if (missing.length > 0) {
      out.push({ target: n, figures: `vipflow has no ${missing.join(' or ')} figure (see the notes)`, met: null });
      continue;
    }
    if (row.count === 1 && advertIntS === 1) {
      out.push({
        target: `${n} idle: CPU at most ${IDLE_CPU_PCT * 10} ms/s`,
        figures: ROLES.map((r) => `${r} ${(vf[r]!.cpuPct * 10).toFixed(2)} ms/s`).join(', '),
        met: ROLES.every((r) => vf[r]!.cpuPct <= IDLE_CPU_PCT),
      });
    }
    if (row.count > 1) {
      const ka = row.keepalived;
      const kaMissing = ROLES.filter((r) => ka[r] === null || !(ka[r].cpuPct > 0));
      if (kaMissing.length > 0) {
        out.push({
          target: `${n}: CPU at most ${CPU_RATIO}x keepalived's`,
          figures: `keepalived has no ${kaMissing.join(' or ')} figure in this run (see the notes); run it again`,
          met: null,
        });
      } else {
        const ratios = ROLES.map((r) => vf[r]!.cpuPct / ka[r]!.cpuPct);
        out.push({
          target: `${n}: CPU at most ${CPU_RATIO}x keepalived's`,
          figures: ROLES.map((r, i) => `${r} ${ratios[i]!.toFixed(2)}x`).join(', '),
          met: ratios.every((x) => x <= CPU_RATIO),
        });
      }
    }
    const bound = RSS_MIB.get(row.count);
    if (bound !== undefined) {
      out.push({
        target: `${n}: RSS at most ${bound} MiB`,
        figures: ROLES.map((r) => `${r} ${vf[r]!.rssMiB.toFixed(1)} MiB`).join(', '),
        met: ROLES.every((r) => vf[r]!.rssMiB <= bound),
      });
    }
  }
  return out;
}

/** One line per verdict and a last line that sums them up. */
export function verdictLines(verdicts: readonly Verdict[]): string[] {
  const word = (v: Verdict) => (v.met === null ? 'not judged' : v.met ? 'met' : 'NOT met');
  const lines = verdicts.map((v) => `  ${v.target}: ${v.figures}: ${word(v)}`);
  const met = verdicts.filter((v) => v.met === true).length;
  const failed = verdicts.filter((v) => v.met === false).length;
  const open = verdicts.length - met - failed;
  const sum =
    verdicts.length === 0
      ? 'no target applies to the counts measured'
      : failed === 0 && open === 0
        ? `every target met (${met})`
        : `${met} of ${verdicts.length} targets met, ${failed} not met, ${open} not judged`;
  return ['Targets (issue 16):', ...lines, `  ${sum}`];
}
