/**
 * How the benchmarks start the vipflow daemon. Compiled JavaScript is what
 * ships, and running through tsx would charge the daemon for an in-process
 * TypeScript loader (memory and start-up), so by default the current sources
 * are compiled once into a private temp dir: dist/ may be stale or half
 * rebuilt by someone else while the benchmark runs.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.js';
import { pollUntil, run } from '../../lab/index.js';

/**
 * The node flags of a script's `#!/usr/bin/env -S node FLAGS` line (none for
 * a plain `#!/usr/bin/env node`): what the installed `vipflow` runs with, so
 * a benchmark that starts `node main.js` must add them itself.
 */
export function shebangNodeFlags(script: string): string[] {
  const first = script.slice(0, script.indexOf('\n') >>> 0).trim();
  const m = /^#!\S*env(?:\s+-S)?\s+node(?:\s+(.*))?$/.exec(first);
  return m?.[1] ? m[1].split(/\s+/).filter((f) => f.startsWith('--')) : [];
}

export interface VipflowCommand {
  /** Program and leading arguments; append `run --config ...`. */
  cmd: string;
  args: string[];
  describe: string;
  dispose(): void;
}

/**
 * Compiles the project with tsc into a temp dir that mirrors the repo layout
 * (package.json, tsconfig.json and the native addon copied, so repoRoot
 * resolves there; node_modules linked). `useTsx` skips compiling.
 * Throws when the compiled entry point is missing (tsc emits despite type
 * errors in unrelated files, so only a missing file is fatal). `addonPath`
 * replaces the repo's native addon in the copy (to measure an addon change).
 */
export async function prepareVipflow(useTsx: boolean, addonPath?: string): Promise<VipflowCommand> {
  if (useTsx && addonPath) throw new Error('--addon needs the compiled build, not --tsx');
  if (useTsx) {
    return {
      cmd: process.execPath,
      args: [...shebangNodeFlags(readFileSync(join(repoRoot, 'cli', 'main.ts'), 'utf8')), '--import', 'tsx', join(repoRoot, 'cli', 'main.ts')],
      describe: 'sources through tsx',
      dispose: () => undefined,
    };
  }
  const out = mkdtempSync(join(tmpdir(), 'vipflow-bench-build-'));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await run(
    process.execPath,
    [tsc, '-p', join(repoRoot, 'tsconfig.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'],
    300_000,
  );
  const main = join(out, 'cli', 'main.js');
  if (!existsSync(main)) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`tsc did not emit cli/main.js: ${r.stdout.slice(0, 2000)} ${r.stderr.slice(0, 2000)}`);
  }
  copyFileSync(join(repoRoot, 'package.json'), join(out, 'package.json'));
  copyFileSync(join(repoRoot, 'tsconfig.json'), join(out, 'tsconfig.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(out, 'node_modules'));
  // A copy, not a link: another checkout user may rebuild the addon (rm -rf build) mid-benchmark.
  const addon = join('wire', 'native', 'build', 'Release', 'vipflow_wire.node');
  const present = await pollUntil(() => (existsSync(join(repoRoot, addon)) ? true : undefined), 60_000, 500);
  if (!present) throw new Error(`native addon ${addon} missing: npm run build:native`);
  mkdirSync(join(out, 'wire', 'native', 'build', 'Release'), { recursive: true });
  copyFileSync(addonPath ?? join(repoRoot, addon), join(out, addon));
  return {
    cmd: process.execPath,
    args: [...shebangNodeFlags(readFileSync(main, 'utf8')), main],
    describe: `compiled JS (${r.code === 0 ? 'clean tsc' : 'tsc reported errors elsewhere'})${addonPath ? `, addon ${addonPath}` : ''}`,
    dispose: () => rmSync(out, { recursive: true, force: true }),
  };
}
