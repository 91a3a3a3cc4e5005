/**
 * The TSIG secret, read at run time from where the options say: a literal, an
 * environment variable, or a file (either the bare base64 secret or a BIND key file as
 * `tsig-keygen` writes it, so one file serves named.conf and vipflow alike).
 */
import { readFileSync } from 'node:fs';

export interface SecretSource {
  secret?: string | undefined;
  secretEnv?: string | undefined;
  secretFile?: string | undefined;
}

export type SecretResult = { ok: true; secret: Buffer } | { ok: false; error: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decode(text: string, from: string): SecretResult {
  const s = text.replace(/\s+/g, '');
  if (s === '' || !BASE64.test(s) || s.length % 4 !== 0) return { ok: false, error: `${from}: the TSIG secret is not base64` };
  return { ok: true, secret: Buffer.from(s, 'base64') };
}

/**
 * The secret in `text`: from the `key "<keyName>" { ... secret "..."; }` block when the
 * text has key blocks, else the whole text as base64. Pure.
 */
export function secretFromText(text: string, keyName: string, from: string): SecretResult {
  const blocks = [...text.matchAll(/key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}/g)];
  if (blocks.length === 0) return decode(text, from);
  const want = keyName.replace(/\.$/, '').toLowerCase();
  const block = blocks.find((b) => b[1]!.replace(/\.$/, '').toLowerCase() === want);
  if (!block) return { ok: false, error: `${from}: no key "${keyName}" in the file (it has ${blocks.map((b) => `"${b[1]}"`).join(', ')})` };
  const secret = /secret\s+"([^"]*)"/.exec(block[2]!);
  if (!secret) return { ok: false, error: `${from}: key "${keyName}" has no secret` };
  return decode(secret[1]!, from);
}

/** Reads the secret named by `src` (exactly one of its fields is set; the schema checks that). Never throws. */
export function readSecret(src: SecretSource, keyName: string, env: NodeJS.ProcessEnv = process.env): SecretResult {
  if (src.secret !== undefined) return decode(src.secret, 'key.secret');
  if (src.secretEnv !== undefined) {
    const v = env[src.secretEnv];
    if (v === undefined || v === '') return { ok: false, error: `key.secretEnv: environment variable ${src.secretEnv} is not set` };
    return decode(v, `key.secretEnv (${src.secretEnv})`);
  }
  if (src.secretFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.secretFile, 'utf8');
    } catch (e) {
      return { ok: false, error: `key.secretFile: cannot read ${src.secretFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
    }
    return secretFromText(text, keyName, `key.secretFile (${src.secretFile})`);
  }
  return { ok: false, error: 'key: no secret, secretEnv or secretFile' };
}
