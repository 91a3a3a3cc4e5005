/**
 * Importing a user's own module (vipflow.config.ts, a workflows file) from
 * its path, TypeScript included: .ts files go through tsx's tsImport so no
 * build step is needed. tsx is loaded only when a .ts file is asked for.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * @returns the module's namespace, or `null` when the file is TypeScript and
 *   tsx is not installed. Errors from loading or evaluating the module
 *   itself are thrown for the caller to turn into its own diagnostics.
 */
export async function importUserModule(path: string): Promise<Record<string, unknown> | null> {
  const file = resolve(path);
  const url = pathToFileURL(file).href;
  if (!/\.[cm]?ts$/.test(file)) return (await import(url)) as Record<string, unknown>;
  let tsImport: (specifier: string, parent: string) => Promise<unknown>;
  try {
    ({ tsImport } = await import('tsx/esm/api'));
  } catch {
    return null;
  }
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}
