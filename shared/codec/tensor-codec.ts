import { ShapeError } from '../errors/index.js';
import { abbreviate, abbreviateList } from '../errors/abbreviate.js';
import { rnnstream } from './generated/rnnstream.js';
import {
  bfloat16BitsToFloat32Bits,
  float16BitsToFloat32Bits,
  float32BitsToBfloat16Bits,
  float32BitsToFloat16Bits,
} from './half-precision.js';

const { DType } = rnnstream.v1.Tensor;

/** Element type of a Tensor's bytes on the wire (values are always Float32Array in memory). */
export type TensorDType = 'float32' | 'bfloat16' | 'float16';

export const TENSOR_DTYPES: readonly TensorDType[] = ['float32', 'bfloat16', 'float16'];

/** A dense float tensor in memory: row-major `data` of product(shape) elements. */
export interface TensorValue {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A decoded Tensor message. */
export interface DecodedTensor extends TensorValue {
  readonly name: string;
  readonly dtype: TensorDType;
}

/** Float32Array bytes are already the wire's little-endian float32 on this host. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

const TO_PROTO: Record<TensorDType, rnnstream.v1.Tensor.DType> = {
  float32: DType.FLOAT32,
  bfloat16: DType.BFLOAT16,
  float16: DType.FLOAT16,
};

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: TensorDType): number {
  return dtype === 'float32' ? 4 : 2;
}

/** A Float32Array is a vector (shape [length]). */
export function asTensorValue(value: TensorValue | Float32Array): TensorValue {
  return value instanceof Float32Array ? { shape: [value.length], data: value } : value;
}

/** Number of elements of a shape; throws ShapeError for a dimension that is not a uint32. */
export function elementCount(shape: readonly number[], what: string): number {
  let n = 1;
  for (const [i, d] of shape.entries()) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new ShapeError(
        `${what}: shape[${i}] is ${d}, not a non-negative 32-bit integer (shape [${abbreviateList(shape)}])`,
      );
    }
    n *= d;
  }
  return n;
}

/** Encodes float values as little-endian `dtype` bytes (float16/bfloat16 round to nearest even). */
export function encodeTensorData(data: Float32Array, dtype: TensorDType = 'float32'): Uint8Array {
  const n = data.length;
  if (dtype === 'float32') {
    if (HOST_IS_LITTLE_ENDIAN)
      return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    const out = new Uint8Array(n * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, data[i]!, true);
    return out;
  }
  const convert = dtype === 'bfloat16' ? float32BitsToBfloat16Bits : float32BitsToFloat16Bits;
  // Same-endian reinterpretation of the floats as integers (host order on both sides).
  const bits = new Uint32Array(data.buffer, data.byteOffset, n);
  const out = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    const half = convert(bits[i]!);
    out[2 * i] = half & 0xff;
    out[2 * i + 1] = half >>> 8;
  }
  return out;
}

/**
 * Decodes little-endian `dtype` bytes into a Float32Array (16-bit formats widen exactly), one
 * `allocate` gives for the element count (default: a new one; every element is written).
 */
export function decodeTensorData(
  bytes: Uint8Array,
  dtype: TensorDType = 'float32',
  allocate: (elements: number) => Float32Array = (n) => new Float32Array(n),
): Float32Array {
  const size = bytesPerElement(dtype);
  if (bytes.length % size !== 0)
    throw new ShapeError(
      `tensor data of ${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`,
    );
  const n = bytes.length / size;
  const out = allocate(n);
  if (dtype === 'float32') {
    if (HOST_IS_LITTLE_ENDIAN)
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    }
    return out;
  }
  const bits = new Uint32Array(out.buffer, out.byteOffset, n);
  if (dtype === 'bfloat16') {
    for (let i = 0; i < n; i++)
      bits[i] = bfloat16BitsToFloat32Bits(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  } else {
    const table = float16Table();
    for (let i = 0; i < n; i++) bits[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  }
  return out;
}

let FLOAT16_TABLE: Uint32Array | undefined;
/** float32 bits of all 65536 float16 patterns (256 KiB, built on first use). */
function float16Table(): Uint32Array {
  if (!FLOAT16_TABLE) {
    FLOAT16_TABLE = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) FLOAT16_TABLE[h] = float16BitsToFloat32Bits(h);
  }
  return FLOAT16_TABLE;
}

/** A tensor checked for encoding: its shape holds exactly its data, and its dtype is known. */
export interface CheckedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  readonly dtype: TensorDType;
  /** The dtype's number on the wire. */
  readonly dtypeCode: rnnstream.v1.Tensor.DType;
}

/**
 * `value` (a Float32Array means shape [length]) checked for encoding as `dtype`. Throws
 * ShapeError when the shape does not hold exactly data.length elements or the dtype is unknown.
 */
export function checkTensorForEncoding(
  name: string,
  value: TensorValue | Float32Array,
  dtype: TensorDType = 'float32',
): CheckedTensor {
  const { shape, data } = asTensorValue(value);
  const n = elementCount(shape, `tensor '${name}'`);
  if (n !== data.length)
    throw new ShapeError(
      `tensor '${name}': shape [${shape.join(', ')}] holds ${n} elements but the data has ${data.length}`,
    );
  if (!(dtype in TO_PROTO))
    throw new ShapeError(
      `tensor '${name}': unknown dtype '${String(dtype)}' (use one of ${TENSOR_DTYPES.join(', ')})`,
    );
  return { name, shape, data, dtype, dtypeCode: TO_PROTO[dtype] };
}

/**
 * A Tensor message for `value` (a Float32Array means shape [length]) with its data as `dtype`.
 * Throws ShapeError when the shape does not hold exactly data.length elements.
 */
export function encodeTensor(
  name: string,
  value: TensorValue | Float32Array,
  dtype: TensorDType = 'float32',
): rnnstream.v1.Tensor.$Properties {
  const tensor = checkTensorForEncoding(name, value, dtype);
  return {
    name,
    shape: [...tensor.shape],
    dtype: tensor.dtypeCode,
    data: encodeTensorData(tensor.data, dtype),
  };
}

/** The values of a Tensor message; throws ShapeError for an unknown dtype or a size mismatch. */
export function decodeTensor(tensor: rnnstream.v1.Tensor.$Properties): DecodedTensor {
  const name = tensor.name ?? '';
  const shape = [...(tensor.shape ?? [])];
  const bytes = tensor.data ?? new Uint8Array(0);
  const { dtype } = checkTensorHeader({
    name,
    shape,
    dtypeCode: tensor.dtype ?? DType.FLOAT32,
    dataBytes: bytes.length,
  });
  return { name, shape, dtype, data: decodeTensorData(bytes, dtype) };
}

/**
 * The dtype and element count of a decoded Tensor's fields; throws ShapeError for an unknown
 * dtype, a bad dimension, or data that is not exactly the shape's elements.
 */
export function checkTensorHeader({
  name,
  shape,
  dtypeCode,
  dataBytes,
}: {
  name: string;
  shape: readonly number[];
  dtypeCode: number;
  dataBytes: number;
}): { dtype: TensorDType; elements: number } {
  const dtype = dtypeOf(dtypeCode, name);
  const elements = elementCount(shape, `tensor '${abbreviate(name)}'`);
  if (dataBytes !== elements * bytesPerElement(dtype)) {
    throw new ShapeError(
      `tensor '${abbreviate(name)}': shape [${abbreviateList(shape)}] of ${dtype} needs ${elements * bytesPerElement(dtype)} bytes but the message has ${dataBytes}`,
    );
  }
  return { dtype, elements };
}

/** The dtype of a Tensor message's `dtype` number; throws ShapeError for one this build does not know. */
function dtypeOf(value: number, name: string): TensorDType {
  switch (value) {
    case DType.FLOAT32:
      return 'float32';
    case DType.BFLOAT16:
      return 'bfloat16';
    case DType.FLOAT16:
      return 'float16';
    default:
      throw new ShapeError(
        `tensor '${abbreviate(name)}': unknown dtype ${value} (this build reads FLOAT32, BFLOAT16, FLOAT16; upgrade the reader)`,
      );
  }
}
