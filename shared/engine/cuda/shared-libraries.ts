/**
 * Finding a shared library the way the dynamic loader would (`man ld.so`): LD_LIBRARY_PATH, then
 * the ld.so cache (`ldconfig -p`), then the default directories. A library that exists only
 * somewhere else (typically /usr/local/cuda/lib64 with no ld.so.conf entry) is reported as found
 * but not loadable: dlopen() would fail on it just as on a missing one.
 */
import path from 'node:path';

import {
  hostFileExists,
  listHostDir,
  resolveHostLinks,
  searchPath,
  type HostView,
} from './host-view.js';

export interface SharedLibrary {
  /** Path of the file named by the soname, on the probed machine. */
  readonly path: string;
  /** The file its links end at (e.g. libcudart.so.11.2.152 for libcudart.so.11.0). */
  readonly realPath: string;
  /** The release its file names carry ('11.2.152'); undefined when they say no more than the soname. */
  readonly version: string | undefined;
  /** Whether dlopen(soname) would find it. */
  readonly loadable: boolean;
}

const DEFAULT_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64'];

/** Where CUDA and driver installers put libraries even when the loader is not told about them. */
export const UNREGISTERED_LIBRARY_DIRS = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda/targets/x86_64-linux/lib',
  '/usr/local/cuda/targets/sbsa-linux/lib',
  '/usr/local/nvidia/lib64',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib/wsl/lib',
];

/** soname -> path entries of the ld.so cache (`ldconfig -p`), in the cache's order. */
export function loaderCache(host: HostView): Array<{ soname: string; path: string }> {
  const output = host.run('ldconfig', ['-p']) ?? host.run('/sbin/ldconfig', ['-p']) ?? '';
  const entries: Array<{ soname: string; path: string }> = [];
  for (const line of output.split('\n')) {
    const match = /^\s*(\S+)\s+\([^)]*\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (match) entries.push({ soname: match[1]!, path: match[2]! });
  }
  return entries;
}

/** The directories the loader searches, in its order (the cache's directories in the middle). */
export function loaderDirectories(host: HostView): string[] {
  const cacheDirs = loaderCache(host).map((entry) => path.dirname(entry.path));
  return unique([...searchPath(host.env['LD_LIBRARY_PATH']), ...cacheDirs, ...DEFAULT_DIRS]);
}

/** `soname` as dlopen would find it, else where it lies unregistered, else undefined. */
export function findSharedLibrary(host: HostView, soname: string): SharedLibrary | undefined {
  for (const dir of loaderDirectories(host)) {
    const found = libraryIn(host, dir, soname, true);
    if (found) return found;
  }
  for (const dir of UNREGISTERED_LIBRARY_DIRS) {
    const found = libraryIn(host, dir, soname, false);
    if (found) return found;
  }
  return undefined;
}

/**
 * The versions of `lib<stem>.so.*` anywhere the loader or the installers put them ('12.5.82',
 * '9.3.0', ...): what is there instead when the wanted soname is not.
 */
export function versionsPresent(host: HostView, stem: string): string[] {
  const prefix = `lib${stem}.so.`;
  const versions: string[] = [];
  for (const dir of unique([...loaderDirectories(host), ...UNREGISTERED_LIBRARY_DIRS])) {
    for (const name of listHostDir(host, dir)) {
      if (name.startsWith(prefix) && /^\d+(\.\d+)*$/.test(name.slice(prefix.length)))
        versions.push(name.slice(prefix.length));
    }
  }
  // Keep the most precise spelling of each version: 12 and 12.5 are names of 12.5.82.
  return unique(versions)
    .filter((v) => !versions.some((w) => w !== v && w.startsWith(`${v}.`)))
    .sort(compareVersions);
}

function libraryIn(
  host: HostView,
  dir: string,
  soname: string,
  loadable: boolean,
): SharedLibrary | undefined {
  const file = path.join(dir, soname);
  if (!hostFileExists(host, file)) return undefined;
  const realPath = resolveHostLinks(host, file);
  return { path: file, realPath, version: versionOf(host, soname, realPath), loadable };
}

/**
 * The version in the real file's name, or, when that is only the soname's (libcudnn.so.8), the
 * longest `<soname>.x.y` beside it (libcudnn.so.8.9.7); undefined when no name says more than the
 * soname.
 */
function versionOf(host: HostView, soname: string, realPath: string): string | undefined {
  const stem = soname.slice(0, soname.indexOf('.so.') + '.so.'.length);
  const fromName = (name: string) =>
    name.startsWith(stem) && /^\d+(\.\d+)*$/.test(name.slice(stem.length))
      ? name.slice(stem.length)
      : undefined;
  const real = fromName(path.basename(realPath));
  const siblings = listHostDir(host, path.dirname(realPath))
    .filter((name) => name.startsWith(`${soname}.`))
    .map(fromName)
    .filter((v): v is string => v !== undefined);
  const own = soname.slice(stem.length); // '11.0' of libcudart.so.11.0: the ABI, not the release
  const candidates = [real, ...siblings].filter((v): v is string => v !== undefined && v !== own);
  return candidates.sort((a, b) => b.split('.').length - a.split('.').length)[0];
}

/** Numeric comparison of dotted versions; missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
