/**
 * The CUDA check on machines that exist only as temporary directories (test/support/fake-host.ts):
 * no GPU; a driver without the CUDA libraries; libraries older than what libtensorflow 2.9.1
 * (tfjs-node-gpu 4.22) was built with; everything right. What 2.9.1 needs is TensorFlow's
 * published tested build: CUDA 11.2, cuDNN 8.1 (tensorflow.org/install/source#gpu), and a driver
 * ≥ 450.80.02 for CUDA 11 (NVIDIA's CUDA Compatibility guide).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { readTfjsNodePackage } from '../../../shared/engine/cuda/tfjs-node-package.js';
import { checkCuda } from '../../../services/doctor/cuda-check.js';
import type { Finding } from '../../../services/doctor/finding.js';
import { fakeHost, ldconfigListing } from '../../support/fake-host.js';

/** A tfjs-node-gpu package directory as npm installs it (the files doctor reads). */
function fakeGpuPackage(libtensorflow: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnnstream-fake-tfjs-node-gpu-'));
  mkdirSync(path.join(dir, 'scripts'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', version: '4.22.0' }),
  );
  writeFileSync(
    path.join(dir, 'scripts', 'deps-constants.js'),
    `/** Version of the libtensorflow shared library to depend on. */\nconst LIBTENSORFLOW_VERSION = '${libtensorflow}';\n`,
  );
  after(() => rmSync(dir, { recursive: true, force: true }));
  return readTfjsNodePackage(dir);
}

const gpuPackage = fakeGpuPackage('2.9.1');

const LIB = '/usr/lib/x86_64-linux-gnu';
const CUDA = '/usr/local/cuda-11.2/lib64';

/** A T4 with driver 535.104.05 (CUDA ≤ 12.2), plus whatever `extra` adds. */
function machine({
  driver = '535.104.05',
  libraries = {},
  registered = [],
  env = {},
  gpus = ['GPU 0: Tesla T4 (UUID: GPU-5a3b0c1d-0000-1111-2222-333344445555)'],
}: {
  driver?: string;
  /** link path -> real file name beside it (the real file is created). */
  libraries?: Record<string, string>;
  /** Paths ldconfig -p lists besides libcuda. */
  registered?: string[];
  env?: Record<string, string>;
  gpus?: string[];
}) {
  const files: Record<string, string> = {
    '/proc/driver/nvidia/version': `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${driver}  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n`,
    [`${LIB}/libcuda.so.${driver}`]: '',
  };
  const links: Record<string, string> = { [`${LIB}/libcuda.so.1`]: `libcuda.so.${driver}` };
  for (const [link, real] of Object.entries(libraries)) {
    files[path.join(path.dirname(link), real)] = '';
    if (path.basename(link) !== real) links[link] = real;
  }
  const host = fakeHost({
    files,
    links,
    env,
    commands: {
      'nvidia-smi -L': gpus.join('\n') + '\n',
      'nvidia-smi': `| NVIDIA-SMI ${driver}   Driver Version: ${driver}   CUDA Version: 12.2     |\n`,
      'ldconfig -p': ldconfigListing([`${LIB}/libcuda.so.1`, ...registered]),
    },
  });
  after(() => host.remove());
  return host;
}

const byCheck = (findings: Finding[]) => new Map(findings.map((f) => [f.check, f]));

test('with no GPU and no tfjs-node-gpu, CUDA is reported absent and TensorFlow on the CPU: nothing wrong', () => {
  const host = fakeHost({});
  after(() => host.remove());
  const findings = checkCuda({ host, gpuPackage: undefined, cpuPackage: undefined });
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.status, 'ok');
  assert.match(findings[0]!.detail, /no NVIDIA driver/);
  assert.match(findings[0]!.detail, /\/device:CPU:0/);
});

test('with tfjs-node-gpu installed but no GPU, the check warns that TensorFlow falls back to the CPU and names the driver to install', () => {
  const host = fakeHost({});
  after(() => host.remove());
  const [finding, ...rest] = checkCuda({ host, gpuPackage, cpuPackage: undefined });
  assert.equal(rest.length, 0);
  assert.equal(finding!.status, 'warn');
  assert.match(finding!.detail, /@tensorflow\/tfjs-node-gpu 4\.22\.0 is installed/);
  assert.match(finding!.fix!, /NVIDIA driver \(≥ 450\.80\.02 for CUDA 11\.2\)/);
});

test('a driver without the CUDA libraries fails each missing library with the packages that provide CUDA 11.2 and cuDNN 8.1, and TensorFlow stays on the CPU', () => {
  const host = machine({});
  const findings = byCheck(checkCuda({ host, gpuPackage, cpuPackage: undefined }));
  const driver = findings.get('cuda driver')!;
  assert.equal(driver.status, 'ok');
  assert.match(driver.detail, /NVIDIA driver 535\.104\.05 \(\/proc\/driver\/nvidia\/version\)/);
  assert.match(driver.detail, /supports CUDA ≤ 12\.2/);
  assert.match(driver.detail, /0: Tesla T4/);

  for (const [check, soname] of [
    ['cuda cudart', 'libcudart.so.11.0'],
    ['cuda cublas', 'libcublas.so.11'],
    ['cuda cudnn', 'libcudnn.so.8'],
  ] as const) {
    const finding = findings.get(check)!;
    assert.equal(finding.status, 'fail', check);
    assert.match(finding.detail, new RegExp(`${soname.replace(/\./g, '\\.')} not found`));
    assert.match(finding.detail, /libtensorflow 2\.9\.1 is built for CUDA 11\.2, cuDNN 8\.1/);
  }
  assert.match(findings.get('cuda cudart')!.fix!, /apt-get install cuda-libraries-11-2/);
  assert.match(findings.get('cuda cudnn')!.fix!, /apt-get install libcudnn8=8\.1\.\*-1\+cuda11\.2/);
  const device = findings.get('tensorflow device')!;
  assert.equal(device.status, 'fail');
  assert.match(device.detail, /^\/device:CPU:0/);
});

test('the same machine without tfjs-node-gpu only warns (nothing uses the GPU yet) and says which package would use it', () => {
  const host = machine({});
  const cpuPackage = { ...gpuPackage, name: '@tensorflow/tfjs-node' };
  const findings = checkCuda({ host, gpuPackage: undefined, cpuPackage });
  assert.ok(
    findings.every((f) => f.status !== 'fail'),
    JSON.stringify(findings, null, 1),
  );
  const device = byCheck(findings).get('tensorflow device')!;
  assert.equal(device.status, 'warn');
  assert.match(device.fix!, /npm install @tensorflow\/tfjs-node-gpu@4\.22\.0/);
});

test('libraries older than the build (CUDA 11.0 runtime, cuDNN 8.0) fail with their versions, while a present cuBLAS is fine', () => {
  const host = machine({
    libraries: {
      [`${CUDA}/libcudart.so.11.0`]: 'libcudart.so.11.0.221',
      [`${CUDA}/libcublas.so.11`]: 'libcublas.so.11.2.0.252',
      [`${LIB}/libcudnn.so.8`]: 'libcudnn.so.8.0.5',
    },
    registered: [`${CUDA}/libcudart.so.11.0`, `${CUDA}/libcublas.so.11`, `${LIB}/libcudnn.so.8`],
  });
  const findings = byCheck(checkCuda({ host, gpuPackage, cpuPackage: undefined }));
  const cudart = findings.get('cuda cudart')!;
  assert.equal(cudart.status, 'fail');
  assert.match(cudart.detail, /CUDA runtime 11\.0\.221 .* is older than 11\.2/);
  const cudnn = findings.get('cuda cudnn')!;
  assert.equal(cudnn.status, 'fail');
  assert.match(cudnn.detail, /cuDNN 8\.0\.5 .* is older than 8\.1/);
  assert.equal(findings.get('cuda cublas')!.status, 'ok');
  assert.match(findings.get('cuda cublas')!.detail, /11\.2\.0\.252/);
  assert.equal(findings.get('tensorflow device')!.status, 'fail');
});

test('CUDA 12 libraries where libtensorflow 2.9.1 needs CUDA 11 are reported as present instead of the soname it loads', () => {
  const host = machine({
    libraries: {
      [`${LIB}/libcudart.so.12`]: 'libcudart.so.12.5.82',
      [`${LIB}/libcudnn.so.9`]: 'libcudnn.so.9.3.0',
    },
    registered: [`${LIB}/libcudart.so.12`, `${LIB}/libcudnn.so.9`],
  });
  const findings = byCheck(checkCuda({ host, gpuPackage, cpuPackage: undefined }));
  assert.match(
    findings.get('cuda cudart')!.detail,
    /libcudart\.so\.11\.0 not found .*present instead: libcudart\.so\.12\.5\.82/,
  );
  assert.match(findings.get('cuda cudnn')!.detail, /present instead: libcudnn\.so\.9\.3\.0/);
});

test('a driver older than CUDA 11 allows (440.33 < 450.80.02) fails with the upgrade', () => {
  const host = machine({ driver: '440.33' });
  const driver = byCheck(checkCuda({ host, gpuPackage, cpuPackage: undefined })).get(
    'cuda driver',
  )!;
  assert.equal(driver.status, 'fail');
  assert.match(driver.detail, /440\.33 .*older than 450\.80\.02/);
  assert.match(driver.fix!, /upgrade the NVIDIA driver to 450\.80\.02 or newer/);
});

const rightLibraries = {
  [`${CUDA}/libcudart.so.11.0`]: 'libcudart.so.11.2.152',
  [`${CUDA}/libcublas.so.11`]: 'libcublas.so.11.4.1.1043',
  [`${CUDA}/libcudnn.so.8`]: 'libcudnn.so.8.1.1',
};

test('with the right driver, CUDA 11.2 and cuDNN 8.1 on the loader path, every finding is ok and TensorFlow uses the T4 as /device:GPU:0', () => {
  const host = machine({
    libraries: rightLibraries,
    registered: Object.keys(rightLibraries),
  });
  const findings = checkCuda({ host, gpuPackage, cpuPackage: undefined });
  assert.deepEqual(
    findings.map((f) => [f.check, f.status]),
    [
      ['cuda driver', 'ok'],
      ['cuda cudart', 'ok'],
      ['cuda cublas', 'ok'],
      ['cuda cudnn', 'ok'],
      ['tensorflow device', 'ok'],
    ],
  );
  const map = byCheck(findings);
  assert.match(map.get('cuda cudart')!.detail, /CUDA runtime 11\.2\.152/);
  assert.match(map.get('cuda cudnn')!.detail, /cuDNN 8\.1\.1/);
  assert.equal(
    map.get('tensorflow device')!.detail,
    '/device:GPU:0 = Tesla T4 (GPU-5a3b0c1d-0000-1111-2222-333344445555) through @tensorflow/tfjs-node-gpu 4.22.0',
  );
});

test('libraries installed in /usr/local/cuda but unknown to the loader fail with the LD_LIBRARY_PATH that fixes it, and pass once it is set', () => {
  const unregistered = {
    '/usr/local/cuda/lib64/libcudart.so.11.0': 'libcudart.so.11.2.152',
    '/usr/local/cuda/lib64/libcublas.so.11': 'libcublas.so.11.4.1.1043',
    '/usr/local/cuda/lib64/libcudnn.so.8': 'libcudnn.so.8.1.1',
  };
  const before = byCheck(
    checkCuda({ host: machine({ libraries: unregistered }), gpuPackage, cpuPackage: undefined }),
  ).get('cuda cudart')!;
  assert.equal(before.status, 'fail');
  assert.match(
    before.detail,
    /\/usr\/local\/cuda\/lib64\/libcudart\.so\.11\.0 but not on the loader path/,
  );
  assert.match(before.fix!, /^export LD_LIBRARY_PATH=\/usr\/local\/cuda\/lib64:\$LD_LIBRARY_PATH/);

  const fixed = checkCuda({
    host: machine({ libraries: unregistered, env: { LD_LIBRARY_PATH: '/usr/local/cuda/lib64' } }),
    gpuPackage,
    cpuPackage: undefined,
  });
  assert.ok(
    fixed.every((f) => f.status === 'ok'),
    JSON.stringify(fixed, null, 1),
  );
});

test('CUDA_VISIBLE_DEVICES picks /device:GPU:0 among several GPUs, and -1 hides them all', () => {
  const gpus = [
    'GPU 0: Tesla T4 (UUID: GPU-aaaa0000-0000-0000-0000-000000000000)',
    'GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb1111-1111-1111-1111-111111111111)',
  ];
  const options = { libraries: rightLibraries, registered: Object.keys(rightLibraries), gpus };
  const second = byCheck(
    checkCuda({
      host: machine({ ...options, env: { CUDA_VISIBLE_DEVICES: '1,0' } }),
      gpuPackage,
      cpuPackage: undefined,
    }),
  ).get('tensorflow device')!;
  assert.equal(second.status, 'ok');
  assert.match(second.detail, /^\/device:GPU:0 = NVIDIA A100-SXM4-40GB \(GPU-bbbb1111/);
  assert.match(second.detail, /CUDA_DEVICE_ORDER=PCI_BUS_ID/);

  const byUuid = byCheck(
    checkCuda({
      host: machine({
        ...options,
        env: { CUDA_VISIBLE_DEVICES: 'GPU-aaaa', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
      }),
      gpuPackage,
      cpuPackage: undefined,
    }),
  ).get('tensorflow device')!;
  assert.match(byUuid.detail, /^\/device:GPU:0 = Tesla T4 /);

  const hidden = byCheck(
    checkCuda({
      host: machine({ ...options, env: { CUDA_VISIBLE_DEVICES: '-1' } }),
      gpuPackage,
      cpuPackage: undefined,
    }),
  );
  assert.equal(hidden.get('cuda devices')!.status, 'fail');
  assert.match(hidden.get('cuda devices')!.fix!, /unset CUDA_VISIBLE_DEVICES/);
  assert.match(hidden.get('tensorflow device')!.detail, /^\/device:CPU:0/);
});

test('without nvidia-smi, the GPUs and the driver version come from /proc', () => {
  const host = fakeHost({
    files: {
      '/proc/driver/nvidia/version':
        'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:25:25 UTC 2024\n',
      '/proc/driver/nvidia/gpus/0000:00:1e.0/information':
        'Model: \t\t Tesla T4\nIRQ:   \t\t 37\nGPU UUID: \t GPU-5a3b0c1d-0000-1111-2222-333344445555\n',
      [`${LIB}/libcuda.so.550.54.14`]: '',
    },
    links: { [`${LIB}/libcuda.so.1`]: 'libcuda.so.550.54.14' },
    commands: { 'ldconfig -p': ldconfigListing([`${LIB}/libcuda.so.1`]) },
  });
  after(() => host.remove());
  const driver = byCheck(checkCuda({ host, gpuPackage, cpuPackage: undefined })).get(
    'cuda driver',
  )!;
  assert.equal(driver.status, 'ok');
  assert.match(driver.detail, /NVIDIA driver 550\.54\.14 \(\/proc\/driver\/nvidia\/version\)/);
  assert.match(driver.detail, /GPUs: 0: Tesla T4/);
});
