// Finding nats-server and the PostgreSQL server programs. The file system is passed in (`fs`), so
// the search order is unit tested without touching the machine.
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Real file-system access; tests pass their own. */
export const realFs = {
  isExecutable(path) {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  listDir(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/** sbin directories are often missing from a normal user's PATH; Debian's nats-server lives there. */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function pathDirs(pathEnv = '') {
  return pathEnv.split(delimiter).filter(Boolean);
}

/** The first executable `name` in `dirs`, or undefined. */
export function findExecutable(name, dirs, fs = realFs) {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (fs.isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function findNatsServer({ pathEnv, fs = realFs } = {}) {
  return findExecutable('nats-server', unique([...pathDirs(pathEnv), ...SBIN_DIRS]), fs);
}

/** Newest version first: ['9.6', '15', '16'] -> ['16', '15', '9.6']. */
export function sortVersionsDesc(versions) {
  const key = (v) => v.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return [...versions].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (y[i] ?? 0) - (x[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/**
 * Where PostgreSQL server programs may be: PATH first, then the versioned directories of Debian
 * (/usr/lib/postgresql/<ver>/bin), Red Hat (/usr/pgsql-<ver>/bin) and Homebrew, newest first.
 */
export function postgresCandidateDirs({ pathEnv, fs = realFs } = {}) {
  const dirs = [...pathDirs(pathEnv)];
  for (const version of sortVersionsDesc(fs.listDir('/usr/lib/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v)))) {
    dirs.push(`/usr/lib/postgresql/${version}/bin`);
  }
  const redHat = fs.listDir('/usr').flatMap((name) => (/^pgsql-\d+(\.\d+)?$/.test(name) ? [name.slice('pgsql-'.length)] : []));
  for (const version of sortVersionsDesc(redHat)) dirs.push(`/usr/pgsql-${version}/bin`);
  for (const prefix of ['/opt/homebrew/opt', '/usr/local/opt']) {
    const kegs = fs.listDir(prefix).filter((name) => /^postgresql(@\d+)?$/.test(name));
    const byVersion = sortVersionsDesc(kegs.map((k) => k.split('@')[1] ?? '0'));
    for (const version of byVersion) dirs.push(`${prefix}/${version === '0' ? 'postgresql' : `postgresql@${version}`}/bin`);
  }
  return unique(dirs);
}

/**
 * `postgres` and `initdb` from one directory (mixing versions breaks initdb), or undefined.
 * `pg_ctl` is reported when present but not required: the launcher runs postgres itself.
 */
export function findPostgres({ pathEnv, fs = realFs } = {}) {
  for (const dir of postgresCandidateDirs({ pathEnv, fs })) {
    const postgres = join(dir, 'postgres');
    const initdb = join(dir, 'initdb');
    if (fs.isExecutable(postgres) && fs.isExecutable(initdb)) {
      const pgCtl = join(dir, 'pg_ctl');
      return { dir, postgres, initdb, pgCtl: fs.isExecutable(pgCtl) ? pgCtl : undefined };
    }
  }
  return undefined;
}

/** `postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)` -> '15'; '9.6.24' -> '9.6'. */
export function postgresMajor(versionOutput) {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major >= 10 ? String(major) : `${major}.${match[2] ?? 0}`;
}

function unique(list) {
  return [...new Set(list)];
}
