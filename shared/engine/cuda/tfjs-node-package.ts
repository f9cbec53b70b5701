/**
 * The installed @tensorflow/tfjs-node(-gpu) package: its version and the libtensorflow release its
 * installer downloads (LIBTENSORFLOW_VERSION in scripts/deps-constants.js, the same for the CPU
 * and the GPU package of one tfjs release), read from files without loading the native addon.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type TfjsNodePackageName = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export interface TfjsNodePackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  /** undefined when scripts/deps-constants.js does not say (another packaging of tfjs-node). */
  readonly libtensorflow: string | undefined;
}

const require = createRequire(import.meta.url);

/** The package in `dir` (its package.json and scripts/deps-constants.js). */
export function readTfjsNodePackage(dir: string): TfjsNodePackage {
  const { name, version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  let libtensorflow: string | undefined;
  try {
    const constants = readFileSync(path.join(dir, 'scripts', 'deps-constants.js'), 'utf8');
    libtensorflow = /LIBTENSORFLOW_VERSION\s*=\s*['"]([\d.]+)['"]/.exec(constants)?.[1];
  } catch {
    libtensorflow = undefined;
  }
  return { name, version, dir, libtensorflow };
}

/** The package as this process would load it, or undefined when it is not installed. */
export function findTfjsNodePackage(name: TfjsNodePackageName): TfjsNodePackage | undefined {
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  return readTfjsNodePackage(path.dirname(manifest));
}
