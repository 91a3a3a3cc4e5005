/**
 * A module resolve hook (node:module register) that makes `vipflow` and
 * `vipflow/<subpath>` resolve to the vipflow installation that is running. A user's
 * workflows file or vipflow.config.ts can then import from 'vipflow/workflows' wherever
 * it lives (/etc/vipflow, a git checkout of runbooks), without vipflow installed in a
 * node_modules next to it.
 */
interface ResolveContext {
  parentURL?: string;
  conditions?: readonly string[];
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<{ url: string; format?: string | null; shortCircuit?: boolean }>;

let packageRoot: URL | undefined;

/** Receives the installation's root URL from register()'s `data`. */
export function initialize(data: { packageRoot: string }): void {
  packageRoot = new URL(data.packageRoot);
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve) {
  if (packageRoot && (specifier === 'vipflow' || specifier.startsWith('vipflow/'))) {
    try {
      return await nextResolve(specifier, context);
    } catch {
      // Not resolvable from the importing file: resolve it as the package itself would
      // (its own "exports"), from inside the running installation.
      return nextResolve(specifier, { ...context, parentURL: new URL('package.json', packageRoot).href });
    }
  }
  return nextResolve(specifier, context);
}
