/**
 * Importing a user's own module (vipflow.config.ts, a workflows file) from
 * its path, TypeScript included: .ts files go through tsx's tsImport so no
 * build step is needed. tsx is loaded only when a .ts file is asked for.
 */
import { createRequire, register } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './paths.js';

let selfResolveRegistered = false;

/** Lets user modules import 'vipflow/...' from anywhere (self-resolve-hook.ts); once per process. */
function registerSelfResolve(): void {
  if (selfResolveRegistered) return;
  selfResolveRegistered = true;
  // The hook runs on the loader thread, which needs plain JavaScript: from sources
  // (tsx) the .ts hook is not loadable there, and the package self-reference it
  // provides only matters for an installed (compiled) vipflow anyway.
  const hook = new URL('./self-resolve-hook.js', import.meta.url);
  if (!hook.pathname.includes('/dist/')) return;
  register(hook, { data: { packageRoot: pathToFileURL(repoRoot + '/').href } });
  // A .ts file outside an ESM package is compiled to CommonJS by tsx, and require()
  // does not consult module hooks in Node 20: give require the same fallback.
  const Module = createRequire(import.meta.url)('node:module') as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = Module._resolveFilename;
  const fromRoot = createRequire(join(repoRoot, 'package.json'));
  Module._resolveFilename = function (request: string, ...rest: unknown[]): string {
    try {
      return original.call(this, request, ...rest);
    } catch (e) {
      if (request === 'vipflow' || request.startsWith('vipflow/')) return fromRoot.resolve(request);
      throw e;
    }
  };
}

/**
 * @returns the module's namespace, or `null` when the file is TypeScript and
 *   tsx is not installed. Errors from loading or evaluating the module
 *   itself are thrown for the caller to turn into its own diagnostics.
 */
export async function importUserModule(path: string): Promise<Record<string, unknown> | null> {
  registerSelfResolve();
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
