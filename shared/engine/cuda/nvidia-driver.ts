/**
 * The NVIDIA driver as a CUDA program sees it: the kernel module's version
 * (/proc/driver/nvidia/version, else nvidia-smi), the user-space driver library libcuda.so.1, the
 * GPUs (nvidia-smi -L, else /proc/driver/nvidia/gpus/<bus>/information) and CUDA_VISIBLE_DEVICES,
 * which decides which of them is TensorFlow's /device:GPU:0.
 */
import path from 'node:path';

import { listHostDir, readHostFile, type HostView } from './host-view.js';
import { findSharedLibrary, type SharedLibrary } from './shared-libraries.js';

export interface NvidiaGpu {
  /** nvidia-smi's index (PCI bus order). */
  readonly index: number;
  readonly name: string;
  readonly uuid: string | undefined;
}

export interface NvidiaDriver {
  /** '535.104.05'; undefined when only libcuda.so.1 betrays a driver. */
  readonly version: string | undefined;
  /** Where the version was read. */
  readonly versionSource: string | undefined;
  /** The newest CUDA release the driver supports, from nvidia-smi's header ('12.2'). */
  readonly cudaVersion: string | undefined;
  /** libcuda.so.1, the driver's user-space half that every CUDA program loads. */
  readonly libcuda: SharedLibrary | undefined;
  readonly gpus: readonly NvidiaGpu[];
  /** Whether `nvidia-smi` ran. */
  readonly nvidiaSmi: boolean;
}

const PROC_VERSION = '/proc/driver/nvidia/version';
const PROC_GPUS = '/proc/driver/nvidia/gpus';

/** The driver, or undefined when there is no trace of one (no module, no nvidia-smi, no libcuda). */
export function findNvidiaDriver(host: HostView): NvidiaDriver | undefined {
  const proc = readHostFile(host, PROC_VERSION);
  const procVersion =
    proc === undefined ? undefined : /^NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s/m.exec(proc)?.[1];
  const header = host.run('nvidia-smi', []);
  const list = host.run('nvidia-smi', ['-L']);
  const smiVersion =
    header === undefined ? undefined : /Driver Version:\s*([\d.]+)/.exec(header)?.[1];
  const libcuda = findSharedLibrary(host, 'libcuda.so.1');
  if (proc === undefined && header === undefined && list === undefined && libcuda === undefined)
    return undefined;
  const version = procVersion ?? smiVersion ?? libcuda?.version;
  return {
    version,
    versionSource:
      procVersion !== undefined
        ? PROC_VERSION
        : smiVersion !== undefined
          ? 'nvidia-smi'
          : libcuda?.version !== undefined
            ? libcuda.realPath
            : undefined,
    cudaVersion: header === undefined ? undefined : /CUDA Version:\s*([\d.]+)/.exec(header)?.[1],
    libcuda,
    gpus: list !== undefined ? gpusOfNvidiaSmi(list) : gpusOfProc(host),
    nvidiaSmi: header !== undefined || list !== undefined,
  };
}

/** `GPU 0: Tesla T4 (UUID: GPU-5a3b...)` lines. */
function gpusOfNvidiaSmi(output: string): NvidiaGpu[] {
  const gpus: NvidiaGpu[] = [];
  for (const line of output.split('\n')) {
    const match = /^GPU (\d+): (.+?)(?: \(UUID: ([^)]+)\))?\s*$/.exec(line.trim());
    if (match) gpus.push({ index: Number(match[1]), name: match[2]!, uuid: match[3] });
  }
  return gpus;
}

/** One directory per GPU, named by its PCI address: sorted, they are in nvidia-smi's order. */
function gpusOfProc(host: HostView): NvidiaGpu[] {
  return listHostDir(host, PROC_GPUS)
    .sort()
    .map((bus, index) => {
      const info = readHostFile(host, path.join(PROC_GPUS, bus, 'information')) ?? '';
      return {
        index,
        name: /^Model:\s*(.+?)\s*$/m.exec(info)?.[1] ?? `GPU at ${bus}`,
        uuid: /^GPU UUID:\s*(\S+)/m.exec(info)?.[1],
      };
    });
}

/** The CUDA_VISIBLE_DEVICES value when it hides every GPU ('' or '-1'), else undefined. */
export function cudaMaskedBy(host: HostView): string | undefined {
  const value = host.env['CUDA_VISIBLE_DEVICES'];
  return value !== undefined && (value.trim() === '' || value.trim() === '-1') ? value : undefined;
}

/**
 * Whether a CUDA driver is usable by this process: not masked by CUDA_VISIBLE_DEVICES, and
 * libcuda.so.1 present or nvidia-smi answering. select-backend tries @tensorflow/tfjs-node-gpu only
 * then.
 */
export function cudaDriverVisible(host: HostView): boolean {
  if (cudaMaskedBy(host) !== undefined) return false;
  if (host.platform !== 'linux' && host.platform !== 'win32') return false;
  return (
    findSharedLibrary(host, 'libcuda.so.1') !== undefined ||
    host.run('nvidia-smi', ['-L']) !== undefined
  );
}

/**
 * The GPU CUDA numbers 0 — TensorFlow's /device:GPU:0 — given CUDA_VISIBLE_DEVICES (indices or
 * UUID prefixes; the first entry is device 0); undefined when the variable names no GPU there is.
 */
export function firstVisibleGpu(host: HostView, gpus: readonly NvidiaGpu[]): NvidiaGpu | undefined {
  const value = host.env['CUDA_VISIBLE_DEVICES'];
  if (value === undefined) return gpus[0];
  const first = value.split(',')[0]!.trim();
  if (/^\d+$/.test(first)) return gpus.find((gpu) => gpu.index === Number(first));
  return gpus.find((gpu) => gpu.uuid !== undefined && first !== '' && gpu.uuid.startsWith(first));
}
