/**
 * The probes select-backend and doctor share, on faked machines: when a CUDA driver counts as
 * visible (select-backend then tries @tensorflow/tfjs-node-gpu), how the loader's search path is
 * read, and which CUDA/cuDNN a libtensorflow release was built with.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { cudaDriverVisible } from '../../../shared/engine/cuda/nvidia-driver.js';
import {
  compareVersions,
  findSharedLibrary,
  loaderDirectories,
} from '../../../shared/engine/cuda/shared-libraries.js';
import { cudaRequirementOf } from '../../../shared/engine/cuda/tensorflow-cuda-requirements.js';
import { fakeHost, ldconfigListing } from '../../support/fake-host.js';

function host(options: Parameters<typeof fakeHost>[0]) {
  const h = fakeHost(options);
  after(() => h.remove());
  return h;
}

test('a CUDA driver is visible through libcuda.so.1 or a working nvidia-smi, and never when CUDA_VISIBLE_DEVICES hides every device', () => {
  const withLibcuda = {
    files: { '/usr/local/nvidia/lib64/libcuda.so.1': '' },
  };
  assert.equal(cudaDriverVisible(host({})), false);
  assert.equal(cudaDriverVisible(host(withLibcuda)), true);
  assert.equal(
    cudaDriverVisible(host({ commands: { 'nvidia-smi -L': 'GPU 0: Tesla T4\n' } })),
    true,
  );
  assert.equal(
    cudaDriverVisible(host({ ...withLibcuda, env: { CUDA_VISIBLE_DEVICES: '-1' } })),
    false,
  );
  assert.equal(
    cudaDriverVisible(host({ ...withLibcuda, env: { CUDA_VISIBLE_DEVICES: '' } })),
    false,
  );
  assert.equal(
    cudaDriverVisible(host({ ...withLibcuda, env: { CUDA_VISIBLE_DEVICES: '0' } })),
    true,
  );
});

test('the loader searches LD_LIBRARY_PATH first, then the directories of the ld.so cache, then the defaults', () => {
  const h = host({
    env: { LD_LIBRARY_PATH: '/opt/a::/opt/b' },
    commands: {
      'ldconfig -p': ldconfigListing(['/usr/lib/x86_64-linux-gnu/libz.so.1', '/opt/c/libx.so.1']),
    },
  });
  assert.deepEqual(loaderDirectories(h), [
    '/opt/a',
    '/opt/b',
    '/usr/lib/x86_64-linux-gnu',
    '/opt/c',
    '/lib',
    '/usr/lib',
    '/lib64',
    '/usr/lib64',
  ]);
});

test('a library found first on LD_LIBRARY_PATH wins over the one in the cache, with the release its real file names', () => {
  const h = host({
    files: {
      '/opt/cuda/libcudart.so.11.8.89': '',
      '/usr/lib/x86_64-linux-gnu/libcudart.so.11.2.152': '',
    },
    links: {
      '/opt/cuda/libcudart.so.11.0': 'libcudart.so.11.8.89',
      '/usr/lib/x86_64-linux-gnu/libcudart.so.11.0':
        '/usr/lib/x86_64-linux-gnu/libcudart.so.11.2.152',
    },
    env: { LD_LIBRARY_PATH: '/opt/cuda' },
    commands: { 'ldconfig -p': ldconfigListing(['/usr/lib/x86_64-linux-gnu/libcudart.so.11.0']) },
  });
  const found = findSharedLibrary(h, 'libcudart.so.11.0')!;
  assert.equal(found.path, '/opt/cuda/libcudart.so.11.0');
  assert.equal(found.version, '11.8.89');
  assert.equal(found.loadable, true);
});

test('a library whose file names say no more than its soname has no known release', () => {
  const h = host({ files: { '/usr/lib/libcudnn.so.8': '' } });
  assert.equal(findSharedLibrary(h, 'libcudnn.so.8')!.version, undefined);
});

test('versions compare numerically, part by part', () => {
  assert.ok(compareVersions('11.10', '11.2') > 0);
  assert.ok(compareVersions('450.80.02', '450.80.2') === 0);
  assert.ok(compareVersions('440.33', '450.80.02') < 0);
  assert.ok(compareVersions('12', '12.0') === 0);
});

test("libtensorflow releases map to TensorFlow's tested CUDA / cuDNN builds and the sonames they load", () => {
  assert.deepEqual(cudaRequirementOf('2.9.1'), {
    libtensorflow: '2.9.1',
    cuda: '11.2',
    cudnn: '8.1',
    minDriver: '450.80.02',
    sonames: { cudart: 'libcudart.so.11.0', cublas: 'libcublas.so.11', cudnn: 'libcudnn.so.8' },
  });
  const recent = cudaRequirementOf('2.21.0')!;
  assert.deepEqual([recent.cuda, recent.cudnn, recent.minDriver], ['12.5', '9.3', '525.60.13']);
  assert.deepEqual(recent.sonames, {
    cudart: 'libcudart.so.12',
    cublas: 'libcublas.so.12',
    cudnn: 'libcudnn.so.9',
  });
  assert.equal(cudaRequirementOf('1.15.0'), undefined);
});
