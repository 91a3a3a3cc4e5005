import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function isVipflowPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'vipflow';
  } catch {
    return false;
  }
}

/**
 * The project root (the folder with vipflow's package.json), found from this
 * module's location so that the same code works from sources (tsx), from
 * dist/, and from an installed package that has no tsconfig.json.
 */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (isVipflowPackage(dir)) return dir;
    dir = dirname(dir);
  }
  throw new Error('vipflow: cannot find the project root from ' + fileURLToPath(import.meta.url));
})();

/** ../shared beside the project checkout: reference data that tests may read. */
export const sharedDir: string = join(repoRoot, '..', 'shared');
