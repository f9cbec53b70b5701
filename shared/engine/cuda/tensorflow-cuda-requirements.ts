/**
 * What a GPU build of libtensorflow needs from the machine: the CUDA and cuDNN releases it was
 * built and tested with (TensorFlow's "Tested build configurations", Linux GPU,
 * https://www.tensorflow.org/install/source#gpu), the sonames it dlopen()s, and the oldest driver
 * that runs that CUDA major release (NVIDIA's CUDA Compatibility guide: from CUDA 11 on, any
 * driver of the major family's minimum runs every minor release of it).
 */

export interface CudaRequirement {
  /** The libtensorflow release ('2.9.1'). */
  readonly libtensorflow: string;
  /** CUDA release it was built with ('11.2'); the runtime found must be this major and no older. */
  readonly cuda: string;
  /** cuDNN release it was built with ('8.1'); TensorFlow refuses an older minor of the same major. */
  readonly cudnn: string;
  /** Oldest driver that runs this CUDA major release ('450.80.02'). */
  readonly minDriver: string;
  /** The files it dlopen()s, by role. */
  readonly sonames: Readonly<Record<CudaLibrary, string>>;
}

export type CudaLibrary = 'cudart' | 'cublas' | 'cudnn';

/** libtensorflow major.minor -> [CUDA, cuDNN] of its tested GPU build. */
const TESTED_BUILDS: Readonly<Record<string, readonly [cuda: string, cudnn: string]>> = {
  '2.4': ['11.0', '8.0'],
  '2.5': ['11.2', '8.1'],
  '2.6': ['11.2', '8.1'],
  '2.7': ['11.2', '8.1'],
  '2.8': ['11.2', '8.1'],
  '2.9': ['11.2', '8.1'],
  '2.10': ['11.2', '8.1'],
  '2.11': ['11.2', '8.1'],
  '2.12': ['11.8', '8.6'],
  '2.13': ['11.8', '8.6'],
  '2.14': ['11.8', '8.7'],
  '2.15': ['12.2', '8.9'],
  '2.16': ['12.3', '8.9'],
  '2.17': ['12.3', '8.9'],
  '2.18': ['12.5', '9.3'],
  '2.19': ['12.5', '9.3'],
  '2.20': ['12.5', '9.3'],
  '2.21': ['12.5', '9.3'],
};

/** Minimum Linux driver per CUDA major release (minor version compatibility). */
const MIN_DRIVER: Readonly<Record<string, string>> = {
  '11': '450.80.02',
  '12': '525.60.13',
};

/** The requirement of libtensorflow `version`, or undefined for a release this table does not know. */
export function cudaRequirementOf(version: string): CudaRequirement | undefined {
  const [major, minor] = version.split('.');
  const build = TESTED_BUILDS[`${major}.${minor}`];
  if (build === undefined) return undefined;
  const [cuda, cudnn] = build;
  const cudaMajor = cuda.split('.')[0]!;
  const minDriver = MIN_DRIVER[cudaMajor];
  if (minDriver === undefined) return undefined;
  return {
    libtensorflow: version,
    cuda,
    cudnn,
    minDriver,
    sonames: {
      // CUDA 11's runtime kept the soname of 11.0 for every 11.x release; from 12 on it is the major.
      cudart: cudaMajor === '11' ? 'libcudart.so.11.0' : `libcudart.so.${cudaMajor}`,
      cublas: `libcublas.so.${cudaMajor}`,
      cudnn: `libcudnn.so.${cudnn.split('.')[0]}`,
    },
  };
}
