/**
 * Script lines read as keepalived 2.2.7 reads them (lib/notify.c
 * notify_script_init and set_script_params_array). keepalived re-reads the
 * line with quotes honoured and takes its first word as the whole command
 * line, split into the program and its arguments. So an unquoted
 * `notify_master /usr/local/bin/notify.sh master` does not pass "master" to
 * the script:
 *
 * - notify_* / quorum_* / notify_up / notify_down / notify_fifo_script take
 *   the second and third words as the user and group to run the script as
 *   (a user that does not exist drops the script: "Invalid user/group for
 *   notify script - ignoring");
 * - a vrrp_script's `script` and a MISC_CHECK's `misc_path` ignore every
 *   word after the first (they have a `user` keyword of their own).
 *
 * vipflow reads them the same way and warns where an unquoted command is
 * followed by more words, since that is almost always meant as arguments.
 */
import type { Mapper, Raw } from './mapper.js';
import type { Node } from './tree.js';

/** `COMMAND [USER [GROUP]]`: a notify-style script. */
export function notifyScriptLine(m: Mapper, n: Node): Raw | undefined {
  const first = m.arg(n, 0, 'a command');
  if (!first) return undefined;
  const out: Raw = { command: first.text };
  const [user, group] = [n.args[1], n.args[2]];
  if (user) out.user = user.text;
  if (group) out.group = group.text;
  if (user && !first.quoted)
    m.sink.warning(
      user,
      `'${n.keyword.text} ${first.text} ${user.text}${group ? ` ${group.text}` : ''}': keepalived 2.2.7 runs '${first.text}' with no arguments, as user '${user.text}'${group ? ` and group '${group.text}'` : ''} (the words after an unquoted command are the user and group; a user that does not exist drops the script); vipflow does the same. Quote the command line to pass arguments: "${[first, ...n.args.slice(1)].map((t) => t.text).join(' ')}"`,
      { text: user.text },
    );
  m.noExtra(n, 3);
  return out;
}

/** `COMMAND`: vrrp_script `script` and MISC_CHECK `misc_path`, where keepalived ignores the words after the first. */
export function commandOnlyLine(m: Mapper, n: Node): Raw | undefined {
  const first = m.arg(n, 0, 'a command');
  if (!first) return undefined;
  const extra = n.args[1];
  if (extra) {
    const rest = n.args
      .slice(1)
      .map((t) => t.text)
      .join(' ');
    const hint = first.quoted ? '' : `; quote the command line to pass arguments: "${[first.text, rest].join(' ')}"`;
    m.sink.warning(
      extra,
      `'${rest}' after the command of '${n.keyword.text}' is ignored: keepalived 2.2.7 runs '${first.text}' alone, and so does vipflow${hint}`,
      { text: extra.text },
    );
  }
  return { command: first.text };
}
