/**
 * Backend selection: 'auto' takes the best backend that really runs (tensorflow > wasm > cpu),
 * explicit requests are honoured or refused with a BackendError that names the value and the fix,
 * RNNSTREAM_BACKEND overrides the request, and withBackend runs one check on two backends.
 * Cases that need @tensorflow/tfjs-node to be absent run in a child process that hides it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resetFlags } from '../../../shared/engine/flags.js';
import { tf } from '../../../shared/engine/tf.js';
import {
  listAvailableBackends,
  selectBackend,
  withBackend,
  type BackendLogger,
} from '../../../shared/engine/select-backend.js';
import { BackendError } from '../../../shared/errors/index.js';

const selectBackendModule = fileURLToPath(
  new URL('../../../shared/engine/select-backend.js', import.meta.url),
);

function capturingLogger(): BackendLogger & {
  lines: Array<{ level: string; obj: object; msg: string }>;
} {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

/**
 * Runs `fn` with RNNSTREAM_BACKEND set (or unset), restoring the variable afterwards. Flags are
 * read once per process (shared/engine/flags.ts): resetFlags makes the next read see the change.
 */
async function withEnvBackend<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env['RNNSTREAM_BACKEND'];
  if (value === undefined) delete process.env['RNNSTREAM_BACKEND'];
  else process.env['RNNSTREAM_BACKEND'] = value;
  resetFlags();
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env['RNNSTREAM_BACKEND'];
    else process.env['RNNSTREAM_BACKEND'] = saved;
    resetFlags();
  }
}

/**
 * Runs an ES module snippet in a fresh Node process in which `require('@tensorflow/tfjs-node')`
 * fails as if the package were not installed. The snippet gets `selectBackend` and must print one
 * JSON line prefixed with RESULT.
 */
function runWithoutTfjsNode(body: string, env: Record<string, string> = {}): unknown {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnnstream-select-backend-'));
  try {
    const hide = path.join(dir, 'hide-tfjs-node.cjs');
    writeFileSync(
      hide,
      `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@tensorflow/tfjs-node' || request === '@tensorflow/tfjs-node-gpu' || request.startsWith('@tensorflow/tfjs-node/')) {
    const err = new Error("Cannot find module '" + request + "' (hidden by the test)");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
`,
    );
    const script = `import { selectBackend } from ${JSON.stringify(selectBackendModule)};\n${body}`;
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!('RNNSTREAM_BACKEND' in env)) delete childEnv['RNNSTREAM_BACKEND'];
    const res = spawnSync(
      process.execPath,
      ['--require', hide, '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        env: childEnv,
        timeout: 120_000,
      },
    );
    const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(
      line,
      `child printed no RESULT line (exit ${res.status}):\n${res.stdout}\n${res.stderr}`,
    );
    return JSON.parse(line.slice('RESULT '.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const available = await listAvailableBackends();
const hasTensorflow = available.includes('tensorflow');
const hasWasm = available.includes('wasm');

test('cpu is always among the available backends, and the list is ordered best first', () => {
  assert.ok(available.includes('cpu'), `available: ${available.join(', ')}`);
  const order = ['tensorflow', 'wasm', 'cpu'];
  assert.deepEqual(
    [...available].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    available,
  );
});

test('auto picks the best backend that really runs', async () => {
  const logger = capturingLogger();
  const { backend, tried } = await withEnvBackend(undefined, () =>
    selectBackend({ requested: 'auto', logger }),
  );
  assert.equal(backend, available[0]);
  assert.equal(tf.getBackend(), backend);
  assert.deepEqual(tried.at(-1), { backend });
  assert.ok(
    logger.lines.some((l) => l.level === 'info' && l.msg.includes(`'${backend}'`)),
    'logs which backend runs',
  );
});

test(
  'auto picks tensorflow when the native addon loads',
  { skip: !hasTensorflow && 'tfjs-node is not built here (npm run setup:tensorflow)' },
  async () => {
    const { backend, tried } = await withEnvBackend(undefined, () =>
      selectBackend({ requested: 'auto', logger: capturingLogger() }),
    );
    assert.equal(backend, 'tensorflow');
    assert.deepEqual(tried, [{ backend: 'tensorflow' }]);
  },
);

test('auto falls back to wasm, then cpu, when the native addon is missing', () => {
  const result = runWithoutTfjsNode(
    `const warnings = [];
const logger = { info() {}, warn(obj, msg) { warnings.push(msg); } };
const r = await selectBackend({ requested: 'auto', logger });
console.log('RESULT ' + JSON.stringify({ ...r, warnings }));`,
  ) as { backend: string; tried: Array<{ backend: string; error?: string }>; warnings: string[] };
  assert.equal(result.backend, hasWasm ? 'wasm' : 'cpu');
  assert.equal(result.tried[0]!.backend, 'tensorflow');
  assert.match(result.tried[0]!.error ?? '', /@tensorflow\/tfjs-node/);
  assert.ok(
    result.warnings.some((w) => w.includes("'tensorflow'")),
    'warns that tensorflow is not available',
  );
});

test('an explicit cpu request activates cpu and runs ops on it', async () => {
  const { backend, tried } = await withEnvBackend(undefined, () =>
    selectBackend({ requested: 'cpu', logger: capturingLogger() }),
  );
  assert.equal(backend, 'cpu');
  assert.deepEqual(tried, [{ backend: 'cpu' }]);
  assert.deepEqual(
    Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())),
    [11],
  );
});

test(
  'an explicit wasm request activates wasm',
  { skip: !hasWasm && 'wasm backend does not initialise here' },
  async () => {
    const { backend } = await withEnvBackend(undefined, () =>
      selectBackend({ requested: 'wasm', logger: capturingLogger() }),
    );
    assert.equal(backend, 'wasm');
  },
);

test('calling selectBackend twice is cheap and gives the same backend', async () => {
  const first = await withEnvBackend(undefined, () =>
    selectBackend({ requested: 'auto', logger: capturingLogger() }),
  );
  const started = performance.now();
  const second = await withEnvBackend(undefined, () =>
    selectBackend({ requested: 'auto', logger: capturingLogger() }),
  );
  assert.equal(second.backend, first.backend);
  assert.ok(
    performance.now() - started < 500,
    `second call took ${(performance.now() - started).toFixed(0)} ms`,
  );
});

test('an unknown backend request gives a BackendError naming the value and the choices', async () => {
  await assert.rejects(
    withEnvBackend(undefined, () =>
      selectBackend({ requested: 'webgpu' as 'cpu', logger: capturingLogger() }),
    ),
    (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.match(err.message, /"webgpu"/);
      assert.match(err.message, /auto, tensorflow, wasm, cpu/);
      return true;
    },
  );
});

test('an explicit tensorflow request without the native addon gives a BackendError naming the value and the fix', () => {
  const result = runWithoutTfjsNode(
    `try {
  await selectBackend({ requested: 'tensorflow', logger: { info() {}, warn() {} } });
  console.log('RESULT ' + JSON.stringify({ threw: false }));
} catch (err) {
  console.log('RESULT ' + JSON.stringify({ threw: true, name: err.name, message: err.message }));
}`,
  ) as { threw: boolean; name?: string; message?: string };
  assert.equal(result.threw, true);
  assert.equal(result.name, 'BackendError');
  assert.match(result.message ?? '', /"tensorflow"/);
  assert.match(result.message ?? '', /npm run setup:tensorflow/);
  assert.match(result.message ?? '', /@tensorflow\/tfjs-node/);
});

test('RNNSTREAM_BACKEND overrides the requested backend', async () => {
  const { backend } = await withEnvBackend('cpu', () =>
    selectBackend({ requested: 'auto', logger: capturingLogger() }),
  );
  assert.equal(backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('an unavailable backend named by RNNSTREAM_BACKEND gives a BackendError naming the variable', () => {
  const result = runWithoutTfjsNode(
    `try {
  await selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } });
  console.log('RESULT ' + JSON.stringify({ threw: false }));
} catch (err) {
  console.log('RESULT ' + JSON.stringify({ threw: true, name: err.name, message: err.message }));
}`,
    { RNNSTREAM_BACKEND: 'tensorflow' },
  ) as { threw: boolean; name?: string; message?: string };
  assert.equal(result.threw, true);
  assert.equal(result.name, 'BackendError');
  assert.match(result.message ?? '', /RNNSTREAM_BACKEND=tensorflow/);
});

test('an unknown value of RNNSTREAM_BACKEND gives a BackendError naming the variable and the value', async () => {
  await assert.rejects(
    withEnvBackend('gpu', () => selectBackend({ requested: 'cpu', logger: capturingLogger() })),
    (err: unknown) =>
      err instanceof BackendError &&
      /RNNSTREAM_BACKEND=gpu/.test(err.message) &&
      /"gpu"/.test(err.message),
  );
});

test(
  'withBackend runs the same computation on tensorflow and cpu and restores the previous backend',
  { skip: !hasTensorflow && 'tfjs-node is not built here (npm run setup:tensorflow)' },
  async () => {
    await tf.setBackend('cpu');
    const compute = (): number[] =>
      tf.tidy(() => {
        const x = tf.tensor2d([[0.5, -1, 2]]);
        const w = tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
        ]);
        return Array.from(tf.tanh(tf.matMul(x, w)).dataSync());
      });
    const onTensorflow = await withBackend('tensorflow', () => {
      assert.equal(tf.getBackend(), 'tensorflow');
      return compute();
    });
    assert.equal(tf.getBackend(), 'cpu', 'switched back');
    const onCpu = await withBackend('cpu', compute);
    assert.equal(onTensorflow.length, onCpu.length);
    onTensorflow.forEach((v, i) =>
      assert.ok(Math.abs(v - onCpu[i]!) < 1e-6, `entry ${i}: ${v} vs ${onCpu[i]}`),
    );
  },
);
