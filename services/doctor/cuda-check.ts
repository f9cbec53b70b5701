/**
 * Whether TensorFlow can compute on a GPU here, and which device it would use: the NVIDIA driver,
 * CUDA_VISIBLE_DEVICES, the CUDA runtime, cuBLAS and cuDNN libraries against what the installed
 * libtensorflow was built with, and @tensorflow/tfjs-node-gpu itself (select-backend loads it only
 * when a driver is visible). Without tfjs-node-gpu nothing depends on the GPU yet, so problems are
 * warnings; with it they are failures.
 */
import path from 'node:path';

import { realHost, type HostView } from '../../shared/engine/cuda/host-view.js';
import {
  cudaMaskedBy,
  findNvidiaDriver,
  firstVisibleGpu,
  type NvidiaDriver,
} from '../../shared/engine/cuda/nvidia-driver.js';
import {
  compareVersions,
  findSharedLibrary,
  versionsPresent,
} from '../../shared/engine/cuda/shared-libraries.js';
import {
  cudaRequirementOf,
  type CudaLibrary,
  type CudaRequirement,
} from '../../shared/engine/cuda/tensorflow-cuda-requirements.js';
import {
  findTfjsNodePackage,
  type TfjsNodePackage,
} from '../../shared/engine/cuda/tfjs-node-package.js';
import { fail, ok, problem, warn, type Finding } from './finding.js';

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

export function checkCuda({
  host = realHost(),
  gpuPackage = findTfjsNodePackage(GPU_PACKAGE),
  cpuPackage = findTfjsNodePackage('@tensorflow/tfjs-node'),
}: {
  host?: HostView;
  /** The installed @tensorflow/tfjs-node-gpu; undefined when it is not installed. */
  gpuPackage?: TfjsNodePackage | undefined;
  /** @tensorflow/tfjs-node: its release says which tfjs-node-gpu (and libtensorflow) would fit. */
  cpuPackage?: TfjsNodePackage | undefined;
} = {}): Finding[] {
  const installed = gpuPackage !== undefined;
  const libtensorflow = gpuPackage?.libtensorflow ?? cpuPackage?.libtensorflow;
  const need = libtensorflow === undefined ? undefined : cudaRequirementOf(libtensorflow);
  const driver = findNvidiaDriver(host);

  if (driver === undefined) {
    const none =
      'no NVIDIA driver (no /proc/driver/nvidia/version, no nvidia-smi, no libcuda.so.1)';
    if (!installed) return [ok('cuda', `${none}: TensorFlow computes on /device:CPU:0`)];
    return [
      warn(
        'cuda',
        `${GPU_PACKAGE} ${gpuPackage.version} is installed but there is ${none}: the tensorflow backend loads @tensorflow/tfjs-node instead and computes on /device:CPU:0`,
        `install the NVIDIA driver${need ? ` (≥ ${need.minDriver} for CUDA ${need.cuda})` : ''} so that nvidia-smi works; in a container, run it with the NVIDIA Container Toolkit (docker run --gpus all; on Kubernetes request nvidia.com/gpu); or uninstall ${GPU_PACKAGE}`,
      ),
    ];
  }

  const findings: Finding[] = [driverFinding(driver, need, installed)];
  const masked = cudaMaskedBy(host);
  if (masked !== undefined)
    findings.push(
      problem(
        installed,
        'cuda devices',
        `CUDA_VISIBLE_DEVICES=${JSON.stringify(masked)} hides every GPU`,
        'unset CUDA_VISIBLE_DEVICES, or set it to the GPU to use (e.g. CUDA_VISIBLE_DEVICES=0)',
      ),
    );
  if (need === undefined) {
    findings.push(
      warn(
        'cuda libraries',
        `no known CUDA requirement for libtensorflow ${libtensorflow ?? '(version unknown)'}`,
        "compare the CUDA and cuDNN found with TensorFlow's tested build configurations (https://www.tensorflow.org/install/source#gpu) and add the release to shared/engine/cuda/tensorflow-cuda-requirements.ts",
      ),
    );
  } else {
    for (const library of ['cudart', 'cublas', 'cudnn'] as const)
      findings.push(libraryFinding(host, need, library, installed));
  }
  findings.push(deviceFinding({ host, driver, installed, findings, gpuPackage, cpuPackage }));
  return findings;
}

function driverFinding(
  driver: NvidiaDriver,
  need: CudaRequirement | undefined,
  installed: boolean,
): Finding {
  const version = driver.version ?? '(version unknown)';
  const from = driver.versionSource ? ` (${driver.versionSource})` : '';
  if (driver.libcuda === undefined)
    return problem(
      installed,
      'cuda driver',
      `NVIDIA driver ${version}${from} is loaded but its library libcuda.so.1 is not found`,
      `install the driver's user-space libraries of the same release (Debian/Ubuntu: libnvidia-compute-${version.split('.')[0]}; in a container: the NVIDIA Container Toolkit mounts them)`,
    );
  if (!driver.libcuda.loadable) {
    const dir = path.dirname(driver.libcuda.path);
    return problem(
      installed,
      'cuda driver',
      `libcuda.so.1 is at ${driver.libcuda.path} but not on the loader path`,
      `export LD_LIBRARY_PATH=${dir}:$LD_LIBRARY_PATH (or add ${dir} to /etc/ld.so.conf.d/ and run ldconfig)`,
    );
  }
  if (need !== undefined && driver.version !== undefined) {
    if (compareVersions(driver.version, need.minDriver) < 0)
      return problem(
        installed,
        'cuda driver',
        `NVIDIA driver ${driver.version}${from} is older than ${need.minDriver}, the oldest that runs CUDA ${need.cuda} (libtensorflow ${need.libtensorflow})`,
        `upgrade the NVIDIA driver to ${need.minDriver} or newer`,
      );
  }
  const gpus = driver.gpus.map((g) => `${g.index}: ${g.name}`).join(', ') || 'none listed';
  const supports = driver.cudaVersion ? `, supports CUDA ≤ ${driver.cudaVersion}` : '';
  const detail = `NVIDIA driver ${version}${from}${supports}, libcuda.so.1 at ${driver.libcuda.path}; GPUs: ${gpus}`;
  if (
    need !== undefined &&
    driver.cudaVersion !== undefined &&
    compareVersions(driver.cudaVersion, need.cuda) < 0
  )
    return warn(
      'cuda driver',
      `${detail}; CUDA ${need.cuda} runs on it only under minor version compatibility (no PTX JIT compilation)`,
      `upgrade the NVIDIA driver to one that supports CUDA ${need.cuda}`,
    );
  return ok('cuda driver', detail);
}

const LIBRARY_LABELS: Readonly<Record<CudaLibrary, string>> = {
  cudart: 'CUDA runtime',
  cublas: 'cuBLAS',
  cudnn: 'cuDNN',
};

function installFix(need: CudaRequirement, library: CudaLibrary): string {
  const cudnnMajor = need.cudnn.split('.')[0]!;
  const image = `or build on an nvidia/cuda:${need.cuda}.x-cudnn${cudnnMajor}-runtime image (deploy/Dockerfile.gpu)`;
  return library === 'cudnn'
    ? `install cuDNN ${need.cudnn} for CUDA ${need.cuda} (NVIDIA's Debian/Ubuntu repository: apt-get install libcudnn${cudnnMajor}=${need.cudnn}.*-1+cuda${need.cuda}), ${image}`
    : `install the CUDA ${need.cuda} libraries (NVIDIA's Debian/Ubuntu repository: apt-get install cuda-libraries-${need.cuda.replace('.', '-')}), ${image}`;
}

function libraryFinding(
  host: HostView,
  need: CudaRequirement,
  library: CudaLibrary,
  installed: boolean,
): Finding {
  const check = `cuda ${library}`;
  const label = LIBRARY_LABELS[library];
  const soname = need.sonames[library];
  const builtFor = `libtensorflow ${need.libtensorflow} is built for CUDA ${need.cuda}, cuDNN ${need.cudnn}`;
  const found = findSharedLibrary(host, soname);
  if (found === undefined) {
    const stem = soname.slice('lib'.length, soname.indexOf('.so.'));
    const others = versionsPresent(host, stem);
    const instead =
      others.length > 0
        ? `; present instead: ${others.map((v) => `lib${stem}.so.${v}`).join(', ')}`
        : '';
    return problem(
      installed,
      check,
      `${label}: ${soname} not found (${builtFor})${instead}`,
      installFix(need, library),
    );
  }
  if (!found.loadable) {
    const dir = path.dirname(found.path);
    return problem(
      installed,
      check,
      `${label}: ${soname} is at ${found.path} but not on the loader path`,
      `export LD_LIBRARY_PATH=${dir}:$LD_LIBRARY_PATH (or add ${dir} to /etc/ld.so.conf.d/ and run ldconfig)`,
    );
  }
  const at = `${soname} -> ${found.realPath}`;
  // cuBLAS numbers its releases on its own; its soname already pins the CUDA major.
  if (library === 'cublas')
    return ok(check, `${label} ${found.version ?? ''} ${at}`.replace('  ', ' '));
  const wanted = library === 'cudnn' ? need.cudnn : need.cuda;
  if (found.version === undefined)
    return warn(
      check,
      `${label}: ${at}, release unknown (no file name says more than the soname; ${builtFor})`,
      `make sure it is ${label} ${wanted} or a newer ${wanted.split('.')[0]}.x`,
    );
  const majorMinor = found.version.split('.').slice(0, 2).join('.');
  if (compareVersions(majorMinor, wanted) < 0)
    return problem(
      installed,
      check,
      `${label} ${found.version} (${at}) is older than ${wanted}: ${builtFor}${library === 'cudnn' ? ' (TensorFlow refuses an older cuDNN minor release)' : ''}`,
      installFix(need, library),
    );
  return ok(check, `${label} ${found.version} (${at}); ${builtFor}`);
}

function deviceFinding({
  host,
  driver,
  installed,
  findings,
  gpuPackage,
  cpuPackage,
}: {
  host: HostView;
  driver: NvidiaDriver;
  installed: boolean;
  findings: readonly Finding[];
  gpuPackage: TfjsNodePackage | undefined;
  cpuPackage: TfjsNodePackage | undefined;
}): Finding {
  const check = 'tensorflow device';
  const gpu = firstVisibleGpu(host, driver.gpus);
  if (!installed) {
    const version = cpuPackage?.version ?? '<the @tensorflow/tfjs-node version>';
    return warn(
      check,
      `/device:CPU:0: an NVIDIA driver is here but ${GPU_PACKAGE} is not installed, so TensorFlow does not use the GPU${gpu ? ` (${gpu.name})` : ''}`,
      `npm install ${GPU_PACKAGE}@${version} (it downloads the GPU build of libtensorflow), with the CUDA libraries above in place`,
    );
  }
  if (findings.some((f) => f.status === 'fail'))
    return fail(
      check,
      `/device:CPU:0: ${GPU_PACKAGE} ${gpuPackage!.version} is installed, but TensorFlow cannot use the GPU (see the cuda findings above)`,
      'resolve the cuda failures above',
    );
  if (gpu === undefined)
    return fail(
      check,
      `/device:CPU:0: CUDA_VISIBLE_DEVICES=${JSON.stringify(host.env['CUDA_VISIBLE_DEVICES'] ?? '')} names none of the GPUs (${driver.gpus.map((g) => `${g.index} ${g.uuid ?? ''}`.trim()).join(', ') || 'none listed'})`,
      'set CUDA_VISIBLE_DEVICES to an index or UUID that nvidia-smi -L lists, or unset it',
    );
  const order =
    driver.gpus.length > 1 && host.env['CUDA_DEVICE_ORDER'] !== 'PCI_BUS_ID'
      ? ' (with several GPUs CUDA numbers the fastest first: set CUDA_DEVICE_ORDER=PCI_BUS_ID to use nvidia-smi’s numbering)'
      : '';
  return ok(
    check,
    `/device:GPU:0 = ${gpu.name}${gpu.uuid ? ` (${gpu.uuid})` : ''} through ${GPU_PACKAGE} ${gpuPackage!.version}${order}`,
  );
}
