// Users and permissions, for running PostgreSQL when the launcher runs as root (postgres refuses
// to). Pure helpers: the caller reads /etc/passwd and stats the directories.

/** The entry of `name` in /etc/passwd text, or undefined. */
export function findPasswdEntry(passwdText, name) {
  for (const line of passwdText.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { name: user, uid: Number(uid), gid: Number(gid), home };
  }
  return undefined;
}

/** The name of `uid` in /etc/passwd text, or undefined. */
export function userNameOf(passwdText, uid) {
  for (const line of passwdText.split('\n')) {
    const [user, , id] = line.split(':');
    if (id !== undefined && Number(id) === uid) return user;
  }
  return undefined;
}

/**
 * Whether a user may enter a directory with this stat (mode, uid, gid); `groups` are the user's
 * group ids. Root is not special here: the caller asks about another user.
 */
export function canTraverse(stat, { uid, groups }) {
  if (stat.uid === uid) return (stat.mode & 0o100) !== 0;
  if (groups.includes(stat.gid)) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/**
 * The first directory in `chain` ([{ path, stat }], from / down) that the user cannot enter, or
 * undefined when every one is reachable.
 */
export function firstUntraversable(chain, user) {
  return chain.find(({ stat }) => !canTraverse(stat, user))?.path;
}

/** '/a/b/c' -> ['/', '/a', '/a/b', '/a/b/c']. */
export function ancestors(absolutePath) {
  const parts = absolutePath.split('/').filter(Boolean);
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}
