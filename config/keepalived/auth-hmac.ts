/**
 * The `auth_hmac { ... }` block of a vrrp_instance (keepalived 2.4). Keys in
 * `file:` form are read here, as keepalived reads them while parsing; the
 * origin of every key points at its id, so no diagnostic quotes a secret.
 */
import { readAuthHmacKeyFile } from '../auth-hmac.js';
import type { KeywordSpec, KeywordTable, Raw } from './mapper.js';

type Spec = KeywordSpec<Raw>;

const keySpec: Spec = {
  apply: (m, n, t) => {
    const idTok = m.arg(n, 0, 'a key id (1-255)');
    const valueTok = m.arg(n, 1, 'a key (hex:..., text, or file:PATH)');
    if (!idTok || !valueTok) return;
    m.noExtra(n, 2);
    const id = m.int(idTok, 'key');
    if (id === undefined) return;
    let value = valueTok.text;
    let path: string | undefined;
    if (value.startsWith('file:')) {
      path = value.slice(5);
      const r = readAuthHmacKeyFile(path);
      if (!r.ok) {
        m.sink.error(valueTok, r.message, { text: 'file:' });
        return;
      }
      if (r.exposed) m.sink.warning(valueTok, `auth_hmac key file '${path}' is readable by group or others`, { text: 'file:' });
      value = r.value;
    }
    const keys = (t.keys ??= []) as Raw[];
    const entry: Raw = {};
    m.self(entry, idTok, 'key');
    m.set(entry, 'id', id, idTok, 'key');
    m.set(entry, 'key', value, idTok, 'key');
    if (path !== undefined) m.set(entry, 'file', path, valueTok, 'key');
    keys.push(entry);
  },
};

function one(key: string, read: (text: string) => unknown, words?: readonly string[]): Spec {
  return {
    apply: (m, n, t) => {
      const tok = m.arg(n);
      if (!tok) return;
      m.noExtra(n, 1);
      const v = words ? m.oneOf(tok, n.keyword.text, words) : read(tok.text);
      if (v === undefined) {
        if (!words) m.sink.error(tok, `invalid integer '${tok.text}' for '${n.keyword.text}'`, { text: tok.text });
        return;
      }
      m.set(t, key, v, tok, n.keyword.text);
    },
  };
}

const integer = (text: string): number | undefined => (/^\d+$/.test(text) ? Number(text) : undefined);

export const AUTH_HMAC: KeywordTable<Raw> = {
  key: keySpec,
  active_key: one('activeKey', integer),
  anti_replay: one('antiReplay', String, ['time', 'monotonic']),
  time_window: one('timeWindow', integer),
  mode: one('mode', String, ['enforce', 'permissive', 'receive-only']),
};

/** The vrrp_instance keyword. A second block adds to the first, as in keepalived. */
export const authHmacBlock: Spec = {
  block: 'block',
  apply: (m, n, t) => {
    let auth = t.authHmac as Raw | undefined;
    if (!auth) {
      auth = {};
      m.self(auth, n.keyword, 'auth_hmac');
      t.authHmac = auth;
    }
    m.walk(n.block!, AUTH_HMAC, auth, 'auth_hmac');
  },
};
