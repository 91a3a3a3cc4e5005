/** What kind of configuration a file is, by its name (apart from load.ts so the daemon can ask without loading the loaders and zod). */
export type ConfigFormat = 'keepalived' | 'vipflow';

/** By name: TypeScript/JavaScript modules are vipflow configs, anything else keepalived.conf. */
export function detectFormat(path: string): ConfigFormat {
  return /\.(c|m)?(t|j)s$/.test(path) ? 'vipflow' : 'keepalived';
}
