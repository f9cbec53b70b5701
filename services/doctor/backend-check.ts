/**
 * The TensorFlow.js backend a service would run on, found the way the services find it (the same
 * selectBackend call, so RNNSTREAM_BACKEND and the config's `backend` count), and why: each
 * better backend that could not run, with its reason and its fix.
 */
import { BackendError } from '../../shared/errors/index.js';
import {
  BACKEND_FIXES,
  BACKEND_ORDER,
  selectBackend,
  type BackendLogger,
  type BackendName,
  type BackendRequest,
  type BackendSelection,
} from '../../shared/engine/select-backend.js';
import { FLAGS, getFlag } from '../../shared/engine/flags.js';
import { tf } from '../../shared/engine/tf.js';
import { fail, ok, warn, type Finding } from './finding.js';

/** selectBackend logs each fallback itself: doctor reports them as findings instead. */
const silent: BackendLogger = { info: () => {}, warn: () => {} };

export type SelectBackend = (options: {
  requested: BackendRequest;
  logger: BackendLogger;
}) => Promise<BackendSelection>;

export async function checkBackend({
  requested,
  select = selectBackend,
  libtensorflowVersion = nativeTensorflowVersion,
}: {
  requested: BackendRequest;
  /** The selection to report on; tests pass their own to fake a backend that fails. */
  select?: SelectBackend;
  /** The libtensorflow release of the active native backend. */
  libtensorflowVersion?: () => string | undefined;
}): Promise<Finding[]> {
  let selection: BackendSelection;
  try {
    selection = await select({ requested, logger: silent });
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    const name = BACKEND_ORDER.find((b) => error.message.includes(`backend "${b}"`));
    return [
      fail(
        'backend',
        error.message.replace(/\. Fix: .*$/s, ''),
        name ? BACKEND_FIXES[name] : 'use RNNSTREAM_BACKEND=auto, or a backend this machine has',
      ),
    ];
  }
  const chosen = selection.backend as BackendName;
  const failed = selection.tried.filter((t) => t.error !== undefined);
  const via =
    chosen === 'tensorflow'
      ? ` (native TensorFlow${libtensorflowVersion() ? ` ${libtensorflowVersion()}` : ''} through ${selection.package ?? '@tensorflow/tfjs-node'})`
      : chosen === 'wasm'
        ? ' (WebAssembly, XNNPACK)'
        : ' (pure JavaScript: slow)';
  const findings = failed.map((attempt) =>
    warn(
      `backend ${attempt.backend}`,
      `not available: ${attempt.error}`,
      BACKEND_FIXES[attempt.backend as BackendName],
    ),
  );
  const fromEnv = getFlag('backend');
  const asked =
    fromEnv !== undefined
      ? `as ${FLAGS.backend.env}=${fromEnv} asks`
      : requested === 'auto'
        ? 'the best that runs here'
        : `as the config asks (backend "${requested}")`;
  const fellBack =
    failed.length === 0
      ? ''
      : `; ${failed.map((t) => `'${t.backend}'`).join(' and ')} could not run`;
  findings.unshift(ok('backend', `'${chosen}'${via}, ${asked}${fellBack}`));
  return findings;
}

/** TF_Version of the loaded tfjs-node binding, as scripts/setup-tensorflow.mjs verifies it. */
function nativeTensorflowVersion(): string | undefined {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: unknown } };
  const version = backend.binding?.TF_Version;
  return typeof version === 'string' ? version : undefined;
}
