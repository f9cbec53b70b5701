/**
 * Faster replacements for six kernels of `@tensorflow/tfjs-backend-wasm` 4.22 that the
 * recurrent training step leans on, installed by `installWasmKernelFixes()` (select-backend.ts
 * calls it when the wasm package loads). They compute exactly what the originals compute; only
 * the way they get there differs.
 *
 * - **BatchMatMul / _FusedMatMul with transposeA or transposeB.** The wasm backend sends only
 *   `a · b` without transposes (and batch 1) to XNNPACK's fully-connected operator; every
 *   transposed product runs a scalar triple loop (`slow_batch_matmul`), 10–20× slower. Autodiff
 *   of `a · b` asks for exactly those: `dy · bᵀ` and `aᵀ · dy`. The replacement transposes the
 *   operand with the backend's own Transpose kernel and runs the untransposed product on
 *   XNNPACK (measured, LSTM H=256 B=64: `dz · Uᵀ` 27 → ~5 ms, `hᵀ · dz` 36 → ~3 ms).
 *   Batched products (batch > 1) take the scalar loop either way and are left to the original.
 * - **Slice, SplitV, Unpack.** The wasm Slice kernel starts with `backend.readSync(x)`, which
 *   copies the WHOLE input out of the wasm heap before copying the slice, so unstacking a
 *   [T, B, G] tensor into T steps costs T full copies (O(T²): ~150–220 ms for T=32, B=64,
 *   G=1024). SplitV and Unpack call that same function directly. The replacements copy the slice
 *   from a view of the heap (the output is allocated first, since allocation may grow and so
 *   replace the heap buffer).
 *
 * - **Identity.** The wasm Identity kernel copies the tensor. tfjs runs it for every tensor a
 *   gradient saves (`tf.clone`), ~250 copies per LSTM training window. Tensors are immutable, so
 *   the replacement shares the buffer and counts a reference, as the cpu backend's Identity and
 *   the wasm backend's own Reshape do.
 *
 * Each replacement is registered under the original kernel name for backend 'wasm', so every op
 * in the process (model, optimizer, tests) gets it; the original config is kept and used for the
 * cases the replacement does not handle (strings, batched products, empty tensors).
 * test/shared/engine/wasm-kernels.test.ts checks each against the cpu backend.
 */
import { tf } from './tf.js';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/** The part of tfjs-backend-wasm's BackendWasm the replacements use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}

type KernelConfig = ReturnType<typeof tf.getKernel>;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

const BACKEND = 'wasm';
/** Kernels replaced here, by name. */
export const WASM_KERNEL_FIXES = [
  'BatchMatMul',
  '_FusedMatMul',
  'Slice',
  'SplitV',
  'Unpack',
  'Identity',
];

let installed = false;

/**
 * Registers the replacements for backend 'wasm' (once per process; later calls do nothing).
 * Returns false when the wasm kernels are not registered (package not loaded).
 */
export function installWasmKernelFixes(): boolean {
  if (installed) return true;
  const originals = new Map<string, KernelConfig>();
  for (const name of [...WASM_KERNEL_FIXES, 'Transpose']) {
    const config = findKernel(name);
    if (!config) return false;
    originals.set(name, config);
  }
  const transposeKernel = originals.get('Transpose')!.kernelFunc;
  const transposeLastTwo = (x: TensorInfo, backend: WasmBackendLike): TensorInfo => {
    const rank = x.shape.length;
    const perm = x.shape.map((_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
    return transposeKernel({
      inputs: { x },
      backend: backend as unknown as KernelArgs['backend'],
      attrs: { perm },
    }) as TensorInfo;
  };

  const matMul = (name: 'BatchMatMul' | '_FusedMatMul'): KernelConfig['kernelFunc'] => {
    const original = originals.get(name)!.kernelFunc;
    return (args: KernelArgs) => {
      const { inputs, attrs } = args;
      const a = inputs['a'] as TensorInfo;
      const b = inputs['b'] as TensorInfo;
      const transposeA = Boolean(attrs?.['transposeA']);
      const transposeB = Boolean(attrs?.['transposeB']);
      if ((!transposeA && !transposeB) || batchSize(a) !== 1 || batchSize(b) !== 1)
        return original(args);
      const backend = args.backend as unknown as WasmBackendLike;
      const temporaries: TensorInfo[] = [];
      try {
        const aN = transposeA ? transposeLastTwo(a, backend) : a;
        if (transposeA) temporaries.push(aN);
        const bN = transposeB ? transposeLastTwo(b, backend) : b;
        if (transposeB) temporaries.push(bN);
        return original({
          ...args,
          inputs: { ...inputs, a: aN, b: bN },
          attrs: { ...attrs, transposeA: false, transposeB: false } as NamedAttrMap,
        });
      } finally {
        for (const t of temporaries) backend.disposeData(t.dataId);
      }
    };
  };

  const originalSlice = originals.get('Slice')!.kernelFunc;
  const slice = (
    x: TensorInfo,
    begin: number[],
    size: number[],
    args: KernelArgs,
  ): TensorInfo | TensorInfo[] => {
    if (x.dtype === 'string' || size.some((s) => s === 0))
      return originalSlice({ ...args, inputs: { x }, attrs: { begin, size } });
    return sliceFromHeap(x, begin, size, args.backend as unknown as WasmBackendLike);
  };

  const originalIdentity = originals.get('Identity')!.kernelFunc;

  const replacements: Record<string, KernelConfig['kernelFunc']> = {
    Identity: (args) => {
      const x = args.inputs['x'] as TensorInfo;
      if (x.dtype === 'string') return originalIdentity(args);
      (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
    BatchMatMul: matMul('BatchMatMul'),
    _FusedMatMul: matMul('_FusedMatMul'),
    Slice: (args) => {
      const x = args.inputs['x'] as TensorInfo;
      const [begin, size] = tf.slice_util.parseSliceParams(
        x as tf.Tensor,
        args.attrs!['begin'] as number | number[],
        args.attrs!['size'] as number | number[] | undefined,
      );
      return slice(x, begin, size, args);
    },
    SplitV: (args) => {
      const x = args.inputs['x'] as TensorInfo;
      const axis = tf.util.parseAxisParam(args.attrs!['axis'] as number, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(
        x as tf.Tensor,
        args.attrs!['numOrSizeSplits'] as number | number[],
        axis,
      );
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const part = slice(x, [...begin], size, args) as TensorInfo;
        begin[axis]! += s;
        return part;
      });
    },
    Unpack: (args) => {
      const value = args.inputs['value'] as TensorInfo;
      const rank = value.shape.length;
      let axis = args.attrs!['axis'] as number;
      if (axis < 0) axis += rank;
      const outShape = value.shape.filter((_, i) => i !== axis);
      const begin = new Array<number>(rank).fill(0);
      const size = [...value.shape];
      size[axis] = 1;
      return Array.from({ length: value.shape[axis]! }, (_, i) => {
        begin[axis] = i;
        const part = slice(value, [...begin], size, args) as TensorInfo;
        return { dataId: part.dataId, dtype: part.dtype, shape: outShape };
      });
    },
  };

  for (const [name, kernelFunc] of Object.entries(replacements)) {
    const original = originals.get(name)!;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ ...original, kernelFunc });
  }
  installed = true;
  return true;
}

function findKernel(name: string): KernelConfig | undefined {
  try {
    return tf.getKernel(name, BACKEND);
  } catch {
    return undefined;
  }
}

/** Product of the dimensions before the last two (1 for a matrix). */
function batchSize(t: TensorInfo): number {
  let n = 1;
  for (let i = 0; i < t.shape.length - 2; i++) n *= t.shape[i]!;
  return n;
}

/**
 * x[begin : begin + size] copied from a view of the wasm heap: the trailing dimensions the slice
 * covers whole merge into one contiguous run, copied with one `set` per combination of the outer
 * indices.
 */
function sliceFromHeap(
  x: TensorInfo,
  begin: number[],
  size: number[],
  backend: WasmBackendLike,
): TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  // Views only after makeOutput: an allocation may grow the heap and detach earlier views.
  const xVals = backend.typedArrayFromHeap(x);
  const outVals = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    outVals.set(xVals.subarray(0, 1));
    return out;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
  // Dimensions d..rank-1 form one contiguous run: every dimension after d is taken whole.
  let d = rank - 1;
  let run = size[d]!;
  while (d > 0 && size[d] === x.shape[d]) {
    d--;
    run *= size[d]!;
  }
  const index = begin.slice(0, d);
  let outOffset = 0;
  for (;;) {
    let offset = begin[d]! * strides[d]!;
    for (let i = 0; i < d; i++) offset += index[i]! * strides[i]!;
    outVals.set(xVals.subarray(offset, offset + run), outOffset);
    outOffset += run;
    // Odometer over the outer dimensions 0..d-1.
    let i = d - 1;
    while (i >= 0) {
      index[i]!++;
      if (index[i]! < begin[i]! + size[i]!) break;
      index[i] = begin[i]!;
      i--;
    }
    if (i < 0) break;
  }
  return out;
}
