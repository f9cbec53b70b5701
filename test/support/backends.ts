import { tf } from '../../shared/engine/tf.js';
import { withBackend } from '../../shared/engine/select-backend.js';

/**
 * The backends of `wanted` that work here, loading tfjs-node / tfjs-backend-wasm if installed.
 * Tests loop over the result so that the core checks run on the native, the wasm and the
 * reference backend.
 */
export async function availableBackends(wanted: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of wanted) {
    if (name === 'tensorflow') {
      try {
        await import('@tensorflow/tfjs-node');
      } catch {
        process.stderr.write(
          'note: tensorflow backend not available (tfjs-node does not load); its variants of these tests are skipped\n',
        );
        continue;
      }
    }
    if (name === 'wasm') {
      // Loaded the way the services load it (with shared/engine/wasm-kernels.ts installed).
      try {
        await withBackend('wasm', () => undefined);
      } catch {
        process.stderr.write(
          'note: wasm backend not available (tfjs-backend-wasm does not initialise); its variants of these tests are skipped\n',
        );
        continue;
      }
    }
    if (await tf.setBackend(name).catch(() => false)) out.push(name);
  }
  return out;
}
