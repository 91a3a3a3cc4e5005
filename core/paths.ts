import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root (the folder with package.json), found from this module's
 * location so that the same code works from sources (tsx) and from dist/.
 */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('vipflow: cannot find the project root from ' + fileURLToPath(import.meta.url));
})();

/** ../shared beside the project checkout: reference data that tests may read. */
export const sharedDir: string = join(repoRoot, '..', 'shared');
