/**
 * Choosing the TensorFlow.js backend that runs the model.
 *
 * Order for 'auto' (best first):
 *   1. 'tensorflow' — native TensorFlow through `@tensorflow/tfjs-node-gpu` when that package is
 *      installed and a CUDA driver is visible, else `@tensorflow/tfjs-node` (optional dependency;
 *      offline it is built by `npm run setup:tensorflow`, see DEVELOPERS.md);
 *   2. 'wasm'       — `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD), checked to really initialise;
 *   3. 'cpu'        — pure JavaScript, always there, slow.
 * `RNNSTREAM_BACKEND=auto|tensorflow|wasm|cpu` (./flags.ts) overrides the requested value. An
 * explicit request for a backend that cannot run throws `BackendError` with the reason and the fix.
 *
 * tf.setBackend() switches one global backend for the whole process. A tensor lives in the backend
 * that was active when it was created; tfjs copies it over lazily when another backend reads it,
 * which is slow and must not be relied on: select (or switch with `withBackend`) first, then create
 * the tensors (parameters included).
 */
import { createRequire } from 'node:module';
import { BackendError } from '../errors/index.js';
import { realHost } from './cuda/host-view.js';
import { cudaDriverVisible } from './cuda/nvidia-driver.js';
import { FLAGS, getFlag } from './flags.js';
import { tf } from './tf.js';
import { installWasmKernelFixes } from './wasm-kernels.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = 'auto' | BackendName;

export interface BackendLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BackendAttempt {
  backend: string;
  /** Why the backend could not be used; absent for the one that was selected. */
  error?: string;
}

export interface BackendSelection {
  /** The backend now active (tf.getBackend()). */
  backend: string;
  /** The npm package that provides it ('@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', ...). */
  package?: string;
  /** Every backend tried, in order, the selected one last. */
  tried: BackendAttempt[];
}

/** Preference order of 'auto'. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
const REQUESTS: readonly BackendRequest[] = ['auto', ...BACKEND_ORDER];

const SETUP_FIX =
  'run `npm run setup:tensorflow` (or `node scripts/setup-tensorflow.mjs`) to build @tensorflow/tfjs-node offline ' +
  '(see DEVELOPERS.md, "TensorFlow backend offline"), or choose another backend with RNNSTREAM_BACKEND=wasm or cpu';

/** What to do when a backend cannot run (`rnnstream doctor` prints it beside the reason). */
export const BACKEND_FIXES: Readonly<Record<BackendName, string>> = {
  tensorflow: SETUP_FIX,
  wasm: 'reinstall @tensorflow/tfjs-backend-wasm (`npm install`; its dist/*.wasm files must exist), or use RNNSTREAM_BACKEND=cpu',
  cpu: 'reinstall @tensorflow/tfjs (`npm install`)',
};

const require = createRequire(import.meta.url);

interface Availability {
  ok: boolean;
  error?: string;
  /** npm package that provides the backend. */
  source?: string;
}

/** One attempt per backend per process: loading a native addon twice re-registers its kernels. */
const loaded = new Map<BackendName, Promise<Availability>>();

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** A tiny op on the active backend, read back: proves the backend does run kernels. */
function smokeTest(): void {
  const value = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(3)).dataSync());
  if (value[0] !== 4 || value[1] !== 5)
    throw new Error(`smoke test computed [${Array.from(value).join(', ')}], expected [4, 5]`);
}

async function switchTo(name: BackendName): Promise<void> {
  if (tf.engine().backendName === name) return;
  const ok = await tf.setBackend(name);
  if (!ok)
    throw new Error(
      `tf.setBackend('${name}') returned false (its initialisation failed; tfjs printed the cause above)`,
    );
}

async function loadTensorflow(): Promise<Availability> {
  // Before the library is loaded: keep TensorFlow's C++ INFO/WARNING logs quiet unless asked for.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  const errors: string[] = [];
  const candidates: string[] = [];
  if (isInstalled('@tensorflow/tfjs-node-gpu')) {
    if (cudaDriverVisible(realHost())) candidates.push('@tensorflow/tfjs-node-gpu');
    else
      errors.push(
        '@tensorflow/tfjs-node-gpu is installed but no CUDA driver is visible (libcuda.so.1 / nvidia-smi)',
      );
  }
  candidates.push('@tensorflow/tfjs-node');
  for (const pkg of candidates) {
    try {
      require(pkg);
    } catch (err) {
      errors.push(`cannot load ${pkg}: ${message(err)}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      errors.push(
        `${pkg} loaded but registered no 'tensorflow' backend in this tfjs engine (two copies of @tensorflow/tfjs?)`,
      );
      continue;
    }
    // Both packages register the same backend name: never load the second one after a success.
    return { ok: true, source: pkg };
  }
  return { ok: false, error: errors.join('; ') };
}

async function loadWasm(): Promise<Availability> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { ok: false, error: `cannot load @tensorflow/tfjs-backend-wasm: ${message(err)}` };
  }
  if (tf.findBackendFactory('wasm') === null) {
    return {
      ok: false,
      error: "@tensorflow/tfjs-backend-wasm loaded but registered no 'wasm' backend",
    };
  }
  // Transposed matmuls and slices of the stock kernels are 10-20x slower than they need to be.
  installWasmKernelFixes();
  return { ok: true, source: '@tensorflow/tfjs-backend-wasm' };
}

/** Loads the backend's package once, then proves the backend initialises and runs an op. */
async function probe(name: BackendName): Promise<Availability> {
  let load = loaded.get(name);
  if (!load) {
    load =
      name === 'tensorflow'
        ? loadTensorflow()
        : name === 'wasm'
          ? loadWasm()
          : Promise.resolve({
              ok: tf.findBackendFactory('cpu') !== null,
              source: '@tensorflow/tfjs-backend-cpu',
              error: "no 'cpu' backend registered",
            });
    loaded.set(name, load);
  }
  const pkg = await load;
  if (!pkg.ok) return pkg;
  try {
    await switchTo(name);
    if (name === 'cpu') quietCpuNotice();
    smokeTest();
  } catch (err) {
    return { ok: false, error: message(err), source: pkg.source };
  }
  return { ok: true, source: pkg.source };
}

/** The cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js" banner on first use; we log our own line instead. */
function quietCpuNotice(): void {
  const backend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (backend && typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

function parseRequest(value: string, source: string): BackendRequest {
  const v = value.trim().toLowerCase();
  if ((REQUESTS as readonly string[]).includes(v)) return v as BackendRequest;
  throw new BackendError(
    `unknown backend "${value}" (${source}); use one of ${REQUESTS.join(', ')}. ` +
      `For native TensorFlow choose "tensorflow" and, if it is not built yet, ${SETUP_FIX}`,
  );
}

const consoleLogger: BackendLogger = {
  info: (obj, msg) => console.error(`[rnnstream] ${msg} ${JSON.stringify(obj)}`),
  warn: (obj, msg) => console.error(`[rnnstream] WARN ${msg} ${JSON.stringify(obj)}`),
};

/**
 * Activates the backend to use and returns it with the list of what was tried. Cheap to call
 * again: each backend's package is loaded at most once per process.
 */
export async function selectBackend({
  requested,
  logger = consoleLogger,
}: {
  requested: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  logger?: BackendLogger;
}): Promise<BackendSelection> {
  const fromEnv = getFlag('backend');
  const source =
    fromEnv !== undefined ? `${FLAGS.backend.env}=${fromEnv}` : `requested "${requested}"`;
  const request = parseRequest(fromEnv ?? requested, source);
  const candidates = request === 'auto' ? BACKEND_ORDER : [request];
  const tried: BackendAttempt[] = [];

  for (const name of candidates) {
    const result = await probe(name);
    if (result.ok) {
      tried.push({ backend: name });
      logger.info(
        { backend: name, package: result.source, request, source, tried },
        `TensorFlow.js backend '${name}' in use${name === 'cpu' ? ' (pure JavaScript: slow)' : ''}`,
      );
      return {
        backend: tf.getBackend(),
        ...(result.source === undefined ? {} : { package: result.source }),
        tried,
      };
    }
    const error = result.error ?? 'unavailable';
    tried.push({ backend: name, error });
    if (request === 'auto') {
      logger.warn(
        { backend: name, error, fix: BACKEND_FIXES[name] },
        `backend '${name}' is not available, trying the next one`,
      );
    } else {
      throw new BackendError(
        `backend "${name}" (${source}) is not available: ${error}. Fix: ${BACKEND_FIXES[name]}`,
      );
    }
  }
  // Unreachable in practice: cpu is part of tfjs itself.
  throw new BackendError(
    `no TensorFlow.js backend could be initialised (${tried.map((t) => `${t.backend}: ${t.error}`).join('; ')}). Fix: ${BACKEND_FIXES.cpu}`,
  );
}

/**
 * The backends that initialise and run an op in this process, best first. Leaves the previously
 * active backend active (if there was one).
 */
export async function listAvailableBackends(): Promise<BackendName[]> {
  const previous = tf.engine().backendName as string | null | undefined;
  const available: BackendName[] = [];
  try {
    for (const name of BACKEND_ORDER) if ((await probe(name)).ok) available.push(name);
  } finally {
    if (previous) await tf.setBackend(previous);
  }
  return available;
}

/**
 * Runs `fn` with backend `name` active, then switches back to the previous backend. For tests that
 * run the same check on 'tensorflow' and 'cpu' in one process: create every tensor inside `fn`
 * (tensors are per backend), and do not run two `withBackend` calls concurrently (the backend is
 * process-global). Throws BackendError when `name` cannot run here.
 */
export async function withBackend<T>(name: BackendName, fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.engine().backendName as string | null | undefined;
  const result = await probe(name);
  if (!result.ok) {
    if (previous && previous !== tf.engine().backendName) await tf.setBackend(previous);
    throw new BackendError(
      `backend "${name}" is not available: ${result.error}. Fix: ${BACKEND_FIXES[name]}`,
    );
  }
  try {
    return await fn();
  } finally {
    if (previous && previous !== name) await tf.setBackend(previous);
  }
}
