#!/usr/bin/env node
/**
 * Offline setup of the native TensorFlow backend (@tensorflow/tfjs-node) for rnnstream.
 *
 * Run by npm as "postinstall" and by hand (`npm run setup:tensorflow`). It never fails the
 * install: every outcome exits 0 (unless RNNSTREAM_TF_REQUIRED=1) and the last line says which
 * backend rnnstream will use.
 *
 *   1. @tensorflow/tfjs-node already loads (its own install worked)     -> nothing to do.
 *   2. a build for (tfjs-node version, TF version, platform, N-API) is
 *      cached in ~/.cache/rnnstream/                                    -> restore it (seconds).
 *   3. otherwise: `npm pack` the tfjs-node tarball, `pip download` the
 *      tensorflow-cpu wheel, unpack libtensorflow_cc/_framework + C API
 *      headers into tfjs-node/deps/, build the addon with
 *      `node-pre-gyp install --build-from-source`, cache the result.
 *   4. verify in a child process: load tfjs-node, run a matmul.
 *
 * Environment:
 *   RNNSTREAM_SKIP_TENSORFLOW_SETUP=1   skip everything
 *   RNNSTREAM_CACHE_DIR                 cache directory (default $XDG_CACHE_HOME/rnnstream or ~/.cache/rnnstream)
 *   RNNSTREAM_TF_WHEEL                  pip requirement of the wheel (default tensorflow-cpu==2.21.0 on x64)
 *   RNNSTREAM_TF_REBUILD=1              ignore the build cache and rebuild from source
 *   RNNSTREAM_TF_REQUIRED=1             exit 1 when the backend is not available (image builds:
 *                                       an image without its native backend must not be shipped)
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TAG = '[rnnstream setup-tensorflow]';
const PKG = '@tensorflow/tfjs-node';
const DEFAULT_TF_VERSION = '2.21.0';
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
/** Symlinks in deps/lib: the names binding.gyp links against and tfjs-node's scripts look for. */
const LIB_LINKS = {
  'libtensorflow.so': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2',
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
  'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
};
/** Header subtrees of the wheel's tensorflow/include/ that the tfjs-node binding needs (C API + tstring). */
const HEADER_PREFIXES = ['tensorflow/c/', 'tensorflow/core/platform/', 'tsl/', 'xla/tsl/'];

const t0 = Date.now();
const secs = (since = t0) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`${TAG} ${msg}`);

/** A step failed: what failed, why, what the user can do. */
class SetupFailure extends Error {
  constructor(step, reason, fix) {
    super(`${step}: ${reason}`);
    this.step = step;
    this.reason = reason;
    this.fix = fix;
  }
}

function finish(ok, detail) {
  if (ok) {
    log(
      `RESULT: backend 'tensorflow' (native TensorFlow via ${PKG}) is available — ${detail} [${secs()}]`,
    );
  } else {
    log(
      `RESULT: backend 'tensorflow' is NOT available — ${detail}. rnnstream will fall back to 'wasm' ` +
        `(@tensorflow/tfjs-backend-wasm) or, failing that, 'cpu' (pure JS, slow). [${secs()}]`,
    );
  }
  process.exit(ok || process.env.RNNSTREAM_TF_REQUIRED !== '1' ? 0 : 1);
}

function run(cmd, args, { cwd, env, timeoutMs = 10 * 60_000, quiet = false } = {}) {
  const res = spawnSync(cmd, args, {
    cwd,
    env: env ?? process.env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  if (!quiet && out.trim()) {
    for (const line of out.trimEnd().split('\n')) console.log(`    ${line}`);
  }
  const error = res.error
    ? `${res.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutMs / 1000}s` : res.error.message}`
    : res.status !== 0
      ? `exit code ${res.status}${res.signal ? ` (signal ${res.signal})` : ''}`
      : undefined;
  return { ok: !error, error, stdout: res.stdout ?? '', stderr: res.stderr ?? '', out };
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function tailLines(text, n = 15) {
  return text.trim().split('\n').slice(-n).join('\n      ');
}

// ---------------------------------------------------------------------------------------------
// Locations

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(scriptDir, '..');
const projectPkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const requireFromRoot = createRequire(path.join(projectRoot, 'package.json'));

/** node_modules dir that holds @tensorflow/tfjs (tfjs-node must sit beside it to share its engine). */
function nodeModulesDir() {
  try {
    const tfjsPkg = requireFromRoot.resolve('@tensorflow/tfjs/package.json');
    return path.resolve(path.dirname(tfjsPkg), '..', '..');
  } catch {
    return path.join(projectRoot, 'node_modules');
  }
}

function cacheRoot() {
  if (process.env.RNNSTREAM_CACHE_DIR) return path.resolve(process.env.RNNSTREAM_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'rnnstream');
}

function wantedTfjsNodeVersion() {
  const spec =
    projectPkg.optionalDependencies?.[PKG] ??
    projectPkg.dependencies?.[PKG] ??
    projectPkg.devDependencies?.[PKG];
  if (!spec) {
    throw new SetupFailure(
      'read package.json',
      `${PKG} is not listed in optionalDependencies`,
      `add "${PKG}": "4.22.0" to optionalDependencies`,
    );
  }
  return spec.replace(/^[\^~=v]+/, '');
}

function wheelRequirement() {
  if (process.env.RNNSTREAM_TF_WHEEL) return process.env.RNNSTREAM_TF_WHEEL;
  return process.arch === 'x64'
    ? `tensorflow-cpu==${DEFAULT_TF_VERSION}`
    : `tensorflow==${DEFAULT_TF_VERSION}`;
}

/** Highest N-API version listed by tfjs-node that this Node supports (what node-pre-gyp builds and finds). */
function napiBuildVersion(tfjsNodePkgJson) {
  const supported = Number(process.versions.napi);
  const listed = (tfjsNodePkgJson?.binary?.napi_versions ?? [8]).filter((v) => v <= supported);
  return Math.max(...listed);
}

// ---------------------------------------------------------------------------------------------
// Verification (child process: a broken native library must not take this script down)

const VERIFY_SNIPPET = `
const { default: tf } = await import('${PKG}');
const a = tf.tensor2d([[1, 2], [3, 4]]);
const b = tf.tensor2d([[5, 6], [7, 8]]);
const product = tf.matMul(a, b).arraySync();
const binding = tf.backend().binding;
console.log('RNNSTREAM_VERIFY ' + JSON.stringify({
  backend: tf.getBackend(),
  product,
  tfjsNode: tf.version['tfjs-node'],
  libtensorflow: binding && binding.TF_Version,
}));
`;

function verify() {
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
  const res = run(process.execPath, ['--input-type=module', '-e', VERIFY_SNIPPET], {
    cwd: projectRoot,
    env,
    timeoutMs: 120_000,
    quiet: true,
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('RNNSTREAM_VERIFY '));
  if (!res.ok || !line) {
    const text = `${res.stderr}\n${res.stdout}`;
    const errorLine =
      text.split('\n').find((l) => /^\s*(\w*Error|Error \[\w+\])\b.*:/.test(l)) ??
      text.split('\n').find((l) => l.trim()) ??
      res.error ??
      'no output';
    return { ok: false, reason: errorLine.trim(), detail: tailLines(text, 8) };
  }
  const info = JSON.parse(line.slice('RNNSTREAM_VERIFY '.length));
  const expected = JSON.stringify([
    [19, 22],
    [43, 50],
  ]);
  if (info.backend !== 'tensorflow')
    return { ok: false, reason: `loaded, but backend is '${info.backend}'` };
  if (JSON.stringify(info.product) !== expected) {
    return {
      ok: false,
      reason: `matmul gave ${JSON.stringify(info.product)}, expected ${expected}`,
    };
  }
  return { ok: true, info };
}

// ---------------------------------------------------------------------------------------------
// Steps

function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Hard-link when possible (same filesystem: instant, no extra space), copy otherwise. */
function linkOrCopyFile(src, dest) {
  fs.rmSync(dest, { force: true });
  try {
    fs.linkSync(src, dest);
  } catch {
    fs.copyFileSync(src, dest);
  }
}

/** Copy a tree (files hard-linked when possible, symlinks re-created as they are). */
function mirrorTree(src, dest) {
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dest, entry.name);
    if (entry.isSymbolicLink()) {
      fs.rmSync(d, { force: true });
      fs.symlinkSync(fs.readlinkSync(s), d);
    } else if (entry.isDirectory()) {
      mirrorTree(s, d);
    } else {
      linkOrCopyFile(s, d);
    }
  }
}

function ensureLibLinks(libDir) {
  for (const [name, target] of Object.entries(LIB_LINKS)) {
    const p = path.join(libDir, name);
    fs.rmSync(p, { force: true });
    fs.symlinkSync(target, p);
  }
}

/** Step: the tfjs-node package tarball, from our cache or from `npm pack` (npm cache / registry). */
function obtainTarball(version, cacheDir) {
  const cached = path.join(cacheDir, 'tarballs', `tensorflow-tfjs-node-${version}.tgz`);
  if (fs.existsSync(cached)) return cached;
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnstream-tfjs-node-'));
  try {
    log(`npm pack ${PKG}@${version} ...`);
    const npm =
      process.env.npm_execpath && fs.existsSync(process.env.npm_execpath)
        ? process.env.npm_execpath
        : undefined;
    const [cmd, args] = npm
      ? [
          process.execPath,
          [npm, 'pack', `${PKG}@${version}`, '--pack-destination', tmp, '--silent'],
        ]
      : [
          process.platform === 'win32' ? 'npm.cmd' : 'npm',
          ['pack', `${PKG}@${version}`, '--pack-destination', tmp, '--silent'],
        ];
    const res = run(cmd, args, { timeoutMs: 5 * 60_000, quiet: true });
    const tgz = fs.existsSync(tmp)
      ? fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'))
      : undefined;
    if (!res.ok || !tgz) {
      throw new SetupFailure(
        `npm pack ${PKG}@${version}`,
        `${res.error ?? 'no tarball produced'}: ${tailLines(res.out, 5)}`,
        'check that the npm registry is reachable (npm ping) or that the package is in the npm cache',
      );
    }
    fs.copyFileSync(path.join(tmp, tgz), cached + '.part');
    fs.renameSync(cached + '.part', cached);
    return cached;
  } finally {
    removeDir(tmp);
  }
}

/** Step: extract the tarball into node_modules/@tensorflow/tfjs-node (fresh). */
function extractPackage(tgz, pkgDir) {
  if (!which('tar')) {
    throw new SetupFailure(
      'extract package',
      '`tar` is not on PATH',
      'install tar (apt-get install tar)',
    );
  }
  const staging = `${pkgDir}.rnnstream-staging`;
  removeDir(staging);
  fs.mkdirSync(staging, { recursive: true });
  const res = run('tar', ['xzf', tgz, '-C', staging, '--strip-components=1'], { quiet: true });
  if (!res.ok) {
    removeDir(staging);
    throw new SetupFailure(
      'extract package',
      `tar failed (${res.error}): ${tailLines(res.out, 5)}`,
      `delete ${tgz} and retry`,
    );
  }
  removeDir(pkgDir);
  fs.renameSync(staging, pkgDir);
  restoredPkgDir = pkgDir;
}

/** The package directory this run created; removed again if the setup fails (npm's usual outcome). */
let restoredPkgDir;

/** Step: the modules tfjs-node requires at runtime must resolve from its directory. */
function checkRuntimeDeps(pkgDir) {
  const req = createRequire(path.join(pkgDir, 'package.json'));
  const missing = [];
  for (const dep of ['@tensorflow/tfjs', '@mapbox/node-pre-gyp', 'google-protobuf', 'progress']) {
    try {
      req.resolve(dep);
    } catch {
      missing.push(dep);
    }
  }
  if (missing.length) {
    throw new SetupFailure(
      'resolve runtime dependencies',
      `${missing.join(', ')} cannot be resolved from ${pkgDir} (npm removed them together with the failed optional ${PKG})`,
      `keep them in rnnstream's "dependencies" (package.json) and run npm install again`,
    );
  }
}

function findPython() {
  for (const name of ['python3', 'python']) {
    const p = which(name);
    if (p) {
      const res = run(p, ['-c', 'import sys; print(sys.version_info[0])'], {
        quiet: true,
        timeoutMs: 30_000,
      });
      if (res.ok && res.stdout.trim() === '3') return p;
    }
  }
  return undefined;
}

function pipErrors(out) {
  const errors = out.split('\n').filter((l) => l.startsWith('ERROR'));
  return errors.length ? errors.join('\n      ') : tailLines(out, 6);
}

/** Step: the tensorflow wheel, via pip download into the cache (reused when already there). */
function obtainWheel(requirement, cacheDir) {
  const wheelDir = path.join(cacheDir, 'wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  const [name, version] = requirement.split('==');
  const prefix = `${name.replace(/-/g, '_')}-${version ?? ''}`;
  const findWheel = () =>
    fs.readdirSync(wheelDir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  const existing = findWheel();
  if (existing) {
    log(`wheel already in cache: ${path.join(wheelDir, existing)}`);
    return path.join(wheelDir, existing);
  }
  const python = findPython();
  const pip = python
    ? [python, ['-m', 'pip']]
    : which('pip3')
      ? [which('pip3'), []]
      : which('pip')
        ? [which('pip'), []]
        : undefined;
  if (!pip) {
    throw new SetupFailure(
      'pip download',
      'neither python3 -m pip nor pip3/pip was found',
      'install python3 and pip (apt-get install python3-pip), or put the wheel into ' + wheelDir,
    );
  }
  const base = [
    ...pip[1],
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--disable-pip-version-check',
    '-d',
    wheelDir,
  ];
  log(`pip download ${requirement} -> ${wheelDir} (large: ~270 MB) ...`);
  const tStep = Date.now();
  let res = run(pip[0], [...base, requirement], { timeoutMs: 20 * 60_000, quiet: true });
  if (!res.ok && process.platform === 'linux' && process.arch === 'x64') {
    // The libraries inside do not depend on Python: accept a wheel built for another CPython.
    log(
      `pip download failed (${res.error}); retrying with the tags of a CPython 3.11 manylinux x86_64 wheel ...`,
    );
    res = run(
      pip[0],
      [
        ...base,
        '--python-version',
        '3.11',
        '--implementation',
        'cp',
        '--abi',
        'cp311',
        '--platform',
        'manylinux_2_27_x86_64',
        '--platform',
        'manylinux2014_x86_64',
        requirement,
      ],
      { timeoutMs: 20 * 60_000, quiet: true },
    );
  }
  const found = findWheel();
  if (!res.ok || !found) {
    throw new SetupFailure(
      `pip download ${requirement}`,
      `${res.error ?? 'no wheel file appeared'}: ${pipErrors(res.out)}`,
      `make the wheel reachable by pip (index/find-links), or copy it into ${wheelDir}; ` +
        `another wheel can be chosen with RNNSTREAM_TF_WHEEL=<name>==<version>`,
    );
  }
  log(`wheel downloaded in ${secs(tStep)}: ${found}`);
  return path.join(wheelDir, found);
}

const PY_EXTRACT = `
import os, shutil, sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
libs = set(sys.argv[3].split(','))
prefixes = sys.argv[4].split(',')
inc_root = 'tensorflow/include/'
found = set()
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        n = info.filename
        if n.endswith('/'):
            continue
        base = n.rsplit('/', 1)[-1]
        if n == 'tensorflow/' + base and base in libs:
            target = os.path.join(dest, 'lib', base)
            found.add(base)
        elif n.startswith(inc_root) and any(n[len(inc_root):].startswith(p) for p in prefixes):
            target = os.path.join(dest, 'include', n[len(inc_root):])
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target + '.part', 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(target + '.part', target)
missing = libs - found
if missing:
    sys.exit('wheel lacks ' + ', '.join(sorted(missing)))
for lib in libs:
    os.chmod(os.path.join(dest, 'lib', lib), 0o755)
`;

/** Step: libtensorflow + headers from the wheel into tfjs-node/deps/. */
function extractWheel(wheel, depsDir) {
  removeDir(depsDir);
  fs.mkdirSync(path.join(depsDir, 'lib'), { recursive: true });
  const python = findPython();
  const tStep = Date.now();
  log(`extracting ${LIBS.join(', ')} and C API headers into ${depsDir} ...`);
  if (python) {
    const res = run(
      python,
      ['-c', PY_EXTRACT, wheel, depsDir, LIBS.join(','), HEADER_PREFIXES.join(',')],
      {
        quiet: true,
      },
    );
    if (!res.ok) {
      throw new SetupFailure(
        'extract wheel',
        `${res.error}: ${tailLines(res.out, 5)}`,
        `delete ${wheel} and retry`,
      );
    }
  } else if (which('unzip')) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnstream-whl-'));
    try {
      const patterns = [
        ...LIBS.map((l) => `tensorflow/${l}`),
        ...HEADER_PREFIXES.map((p) => `tensorflow/include/${p}*`),
      ];
      const res = run('unzip', ['-q', '-o', wheel, ...patterns, '-d', tmp], { quiet: true });
      if (!res.ok)
        throw new SetupFailure(
          'extract wheel',
          `unzip: ${res.error}: ${tailLines(res.out, 5)}`,
          `delete ${wheel} and retry`,
        );
      for (const l of LIBS) {
        fs.renameSync(path.join(tmp, 'tensorflow', l), path.join(depsDir, 'lib', l));
        fs.chmodSync(path.join(depsDir, 'lib', l), 0o755);
      }
      fs.renameSync(path.join(tmp, 'tensorflow', 'include'), path.join(depsDir, 'include'));
    } finally {
      removeDir(tmp);
    }
  } else {
    throw new SetupFailure(
      'extract wheel',
      'neither python3 nor unzip is available',
      'install python3 or unzip',
    );
  }
  if (!fs.existsSync(path.join(depsDir, 'include', 'tensorflow', 'c', 'c_api.h'))) {
    throw new SetupFailure(
      'extract wheel',
      'tensorflow/c/c_api.h is not in the wheel',
      'use a tensorflow wheel that ships include/',
    );
  }
  ensureLibLinks(path.join(depsDir, 'lib'));
  log(`extracted in ${secs(tStep)}`);
}

/** npm's bundled node-gyp (npm sets npm_config_node_gyp only inside lifecycle scripts). */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath &&
      path.join(
        path.dirname(process.env.npm_execpath),
        '..',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(
      path.join(
        path.dirname(requireFromRoot.resolve('node-gyp/package.json')),
        'bin',
        'node-gyp.js',
      ),
    );
  } catch {
    /* not a local dependency */
  }
  for (const c of candidates) if (c && fs.existsSync(c)) return path.resolve(c);
  const global = run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['root', '-g'], {
    quiet: true,
    timeoutMs: 60_000,
  });
  if (global.ok) {
    const p = path.join(
      global.stdout.trim(),
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    );
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Step: compile the addon against the extracted libtensorflow. */
function buildAddon(pkgDir) {
  const missingTools = [];
  if (!which(process.env.CXX || 'g++') && !which('c++') && !which('clang++'))
    missingTools.push('a C++ compiler (g++)');
  if (!which('make')) missingTools.push('make');
  if (!findPython()) missingTools.push('python3 (for node-gyp)');
  if (missingTools.length) {
    throw new SetupFailure(
      'build addon',
      `missing ${missingTools.join(', ')}`,
      'install build tools (Debian/Ubuntu: apt-get install -y build-essential python3) and run npm run setup:tensorflow',
    );
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    throw new SetupFailure(
      'build addon',
      'node-gyp was not found (not bundled with npm?)',
      'npm install -g node-gyp',
    );
  }
  let preGypBin;
  try {
    preGypBin = createRequire(path.join(pkgDir, 'package.json')).resolve(
      '@mapbox/node-pre-gyp/bin/node-pre-gyp',
    );
  } catch {
    throw new SetupFailure(
      'build addon',
      '@mapbox/node-pre-gyp cannot be resolved',
      'keep @mapbox/node-pre-gyp in "dependencies"',
    );
  }
  const env = { ...process.env, npm_config_node_gyp: nodeGyp };
  // Build against the installed Node headers instead of downloading them (no internet).
  if (!env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')))
      env.npm_config_nodedir = prefix;
    else
      log(
        `warning: no Node headers under ${prefix}/include/node; node-gyp will try to download them`,
      );
  }
  const tStep = Date.now();
  log(
    `building the addon from source (node-pre-gyp install --build-from-source, nodedir=${env.npm_config_nodedir ?? 'default'}; 1-3 min) ...`,
  );
  const res = run(
    process.execPath,
    [preGypBin, 'install', '--build-from-source', '--loglevel=warn'],
    {
      cwd: pkgDir,
      env,
      timeoutMs: 20 * 60_000,
      quiet: true,
    },
  );
  if (!res.ok) {
    const logFile = path.join(cacheRoot(), 'last-build.log');
    try {
      fs.writeFileSync(logFile, res.out);
    } catch {
      /* the excerpt below must do */
    }
    const lines = res.out.split('\n');
    const compilerErrors = lines.filter(
      (l) => /error|fatal|not found|No such file/i.test(l) && !/ERR! (stack|not ok)/.test(l),
    );
    throw new SetupFailure(
      'build addon',
      `node-pre-gyp failed (${res.error}); full log: ${logFile}\n      ${[...new Set([...compilerErrors.slice(0, 12), ...lines.slice(-4)])].join('\n      ')}`,
      'fix the error above (missing Node headers: set npm_config_nodedir to the prefix that has include/node/node_api.h)',
    );
  }
  for (const entry of fs.readdirSync(pkgDir)) {
    if (entry === 'build' || entry.startsWith('build-tmp-')) removeDir(path.join(pkgDir, entry));
  }
  log(`addon built in ${secs(tStep)}`);
}

function cacheKey(version, tfRequirement, napi) {
  const tf = tfRequirement.replace(/[^A-Za-z0-9.=_-]/g, '_').replace('==', '-');
  return `tfjs-node-${version}__${tf}__${process.platform}-${process.arch}__napi-v${napi}`;
}

function saveBuildCache(pkgDir, entryDir) {
  const tmp = `${entryDir}.tmp-${process.pid}`;
  removeDir(tmp);
  mirrorTree(path.join(pkgDir, 'lib'), path.join(tmp, 'lib'));
  mirrorTree(path.join(pkgDir, 'deps', 'lib'), path.join(tmp, 'deps', 'lib'));
  fs.writeFileSync(
    path.join(tmp, 'meta.json'),
    JSON.stringify({ created: new Date().toISOString(), node: process.version }, null, 2),
  );
  removeDir(entryDir);
  fs.renameSync(tmp, entryDir);
}

function restoreBuildCache(entryDir, pkgDir) {
  mirrorTree(path.join(entryDir, 'lib'), path.join(pkgDir, 'lib'));
  removeDir(path.join(pkgDir, 'deps'));
  mirrorTree(path.join(entryDir, 'deps', 'lib'), path.join(pkgDir, 'deps', 'lib'));
}

// ---------------------------------------------------------------------------------------------

function main() {
  if (process.env.RNNSTREAM_SKIP_TENSORFLOW_SETUP === '1') {
    log(
      `RESULT: setup skipped (RNNSTREAM_SKIP_TENSORFLOW_SETUP=1): backend 'tensorflow' is available only if ` +
        `${PKG} installed by itself, otherwise rnnstream falls back to 'wasm' or 'cpu'; ` +
        'unset the variable and run npm run setup:tensorflow to set it up',
    );
    process.exit(0);
  }

  // 1. Already working?
  log(`checking whether ${PKG} loads ...`);
  const first = verify();
  if (first.ok) {
    finish(
      true,
      `${PKG} ${first.info.tfjsNode} already loads (libtensorflow ${first.info.libtensorflow}); nothing to do`,
    );
  }
  log(`${PKG} does not load yet: ${first.reason}`);

  if (process.platform !== 'linux') {
    throw new SetupFailure(
      'offline restore',
      `only implemented for Linux (this is ${process.platform}-${process.arch})`,
      `install ${PKG} with internet access (its own installer downloads libtensorflow)`,
    );
  }

  const version = wantedTfjsNodeVersion();
  const tfRequirement = wheelRequirement();
  const cacheDir = cacheRoot();
  const pkgDir = path.join(nodeModulesDir(), ...PKG.split('/'));
  fs.mkdirSync(cacheDir, { recursive: true });
  log(
    `restoring ${PKG}@${version} offline with libtensorflow from ${tfRequirement} (cache: ${cacheDir})`,
  );

  // 2. Package files.
  const tgz = obtainTarball(version, cacheDir);
  extractPackage(tgz, pkgDir);
  checkRuntimeDeps(pkgDir);
  const tfjsNodePkgJson = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const napi = napiBuildVersion(tfjsNodePkgJson);
  const entryDir = path.join(
    cacheDir,
    'builds',
    cacheKey(tfjsNodePkgJson.version, tfRequirement, napi),
  );

  // 2b. Cached build?
  if (process.env.RNNSTREAM_TF_REBUILD !== '1' && fs.existsSync(path.join(entryDir, 'meta.json'))) {
    const tStep = Date.now();
    restoreBuildCache(entryDir, pkgDir);
    const res = verify();
    if (res.ok) {
      finish(
        true,
        `${PKG} ${res.info.tfjsNode} restored from cache ${entryDir} in ${secs(tStep)} (libtensorflow ${res.info.libtensorflow})`,
      );
    }
    log(`cached build does not work (${res.reason}); discarding it and rebuilding`);
    removeDir(entryDir);
  }

  // 3. Build from the wheel.
  const wheel = obtainWheel(tfRequirement, cacheDir);
  extractWheel(wheel, path.join(pkgDir, 'deps'));
  buildAddon(pkgDir);

  // 4. Verify, then cache.
  const res = verify();
  if (!res.ok) {
    throw new SetupFailure(
      'verify',
      `the addon was built but loading it failed: ${res.reason}\n      ${res.detail ?? ''}`,
      'check the error above (missing shared libraries: ldd node_modules/@tensorflow/tfjs-node/lib/napi-v*/tfjs_binding.node)',
    );
  }
  try {
    saveBuildCache(pkgDir, entryDir);
    log(`cached the build in ${entryDir}`);
  } catch (err) {
    log(`warning: could not cache the build (${err.message}); the next npm install will rebuild`);
  }
  finish(
    true,
    `${PKG} ${res.info.tfjsNode} built from source against libtensorflow ${res.info.libtensorflow} (${tfRequirement})`,
  );
}

try {
  main();
} catch (err) {
  if (restoredPkgDir) {
    try {
      removeDir(restoredPkgDir);
    } catch {
      /* best effort */
    }
  }
  if (err instanceof SetupFailure) {
    log(`FAILED at step "${err.step}"`);
    log(`  reason: ${err.reason}`);
    log(`  fix:    ${err.fix}; then run: npm run setup:tensorflow`);
    finish(false, `setup failed at "${err.step}"`);
  } else {
    log(`FAILED unexpectedly: ${err?.stack ?? err}`);
    log(
      '  fix:    report this; meanwhile run: npm run setup:tensorflow (RNNSTREAM_TF_REBUILD=1 forces a rebuild)',
    );
    finish(false, 'setup failed unexpectedly');
  }
}
