/**
 * The backend check reports what selectBackend chooses here, why the better backends could not
 * run (each with the fix from select-backend), and a refused explicit request as a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkBackend, type SelectBackend } from '../../../services/doctor/backend-check.js';
import { BACKEND_FIXES, listAvailableBackends } from '../../../shared/engine/select-backend.js';
import { BackendError } from '../../../shared/errors/index.js';

test('on this machine the check names the best backend that runs, as selectBackend chooses it', async () => {
  const best = (await listAvailableBackends())[0]!;
  const findings = await checkBackend({ requested: 'auto' });
  const summary = findings[0]!;
  assert.equal(summary.check, 'backend');
  assert.equal(summary.status, 'ok');
  assert.ok(summary.detail.startsWith(`'${best}'`), summary.detail);
  if (best === 'tensorflow')
    assert.match(summary.detail, /native TensorFlow \d+\.\d+\.\d+ through @tensorflow\/tfjs-node/);
});

test('a fallback to wasm is reported with the reason tensorflow could not run and the setup command that fixes it', async () => {
  const error = "cannot load @tensorflow/tfjs-node: Cannot find module '@tensorflow/tfjs-node'";
  const select: SelectBackend = async () => ({
    backend: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    tried: [{ backend: 'tensorflow', error }, { backend: 'wasm' }],
  });
  const [summary, tensorflow, ...rest] = await checkBackend({ requested: 'auto', select });
  assert.equal(rest.length, 0);
  assert.equal(summary!.status, 'ok');
  assert.match(
    summary!.detail,
    /^'wasm' \(WebAssembly, XNNPACK\), the best that runs here; 'tensorflow' could not run$/,
  );
  assert.deepEqual(tensorflow, {
    check: 'backend tensorflow',
    status: 'warn',
    detail: `not available: ${error}`,
    fix: BACKEND_FIXES.tensorflow,
  });
  assert.match(tensorflow!.fix!, /npm run setup:tensorflow/);
});

test('an explicit request for a backend that cannot run is a failure with its fix', async () => {
  const select: SelectBackend = async () => {
    throw new BackendError(
      `backend "tensorflow" (requested "tensorflow") is not available: cannot load @tensorflow/tfjs-node: libtensorflow.so.2: cannot open shared object file. Fix: ${BACKEND_FIXES.tensorflow}`,
    );
  };
  const findings = await checkBackend({ requested: 'tensorflow', select });
  assert.deepEqual(findings, [
    {
      check: 'backend',
      status: 'fail',
      detail:
        'backend "tensorflow" (requested "tensorflow") is not available: cannot load @tensorflow/tfjs-node: libtensorflow.so.2: cannot open shared object file',
      fix: BACKEND_FIXES.tensorflow,
    },
  ]);
});
