import { ShapeError } from '../errors/index.js';
import { abbreviate } from '../errors/abbreviate.js';
import { CodecError } from './codec-error.js';
import { createRegionSink, type ByteSink } from './byte-sink.js';
import { fieldKey, lengthDelimitedSize, varintFieldSize, varintSize } from './protobuf-wire.js';
import { PartsReader } from './parts-reader.js';
import {
  bytesPerElement,
  checkTensorForEncoding,
  checkTensorHeader,
  decodeTensorData,
  encodeTensorData,
  HOST_IS_LITTLE_ENDIAN,
  type CheckedTensor,
  type TensorDType,
  type TensorValue,
} from './tensor-codec.js';

/** Named tensors: a Float32Array stands for a vector (shape [length]). */
export type NamedTensors = ReadonlyMap<string, TensorValue | Float32Array>;

// Field numbers of TensorSet and Tensor in proto/rnnstream.proto.
const TENSOR_SET_TENSORS = 1;
const TENSOR_NAME = 1;
const TENSOR_SHAPE = 2;
const TENSOR_DTYPE = 3;
const TENSOR_DATA = 4;

interface TensorLayout {
  readonly tensor: CheckedTensor;
  readonly name: Uint8Array;
  readonly shapeBytes: number;
  readonly dataBytes: number;
  /** Bytes of the Tensor message (without the TensorSet field header around it). */
  readonly size: number;
}

/** An encoded TensorSet's size, known before it is written, and how to write it. */
export interface TensorSetPlan {
  readonly totalBytes: number;
  /** Writes the message's totalBytes bytes into `sink`. */
  writeTo(sink: ByteSink): void;
}

/**
 * Longest tensor name read, in bytes: parameter names are short, and names beyond 16,383
 * characters would all hash alike in the Map of decoded tensors (V8 hashes such strings by their
 * length), making a payload of many of them quadratic to decode.
 */
export const MAX_TENSOR_NAME_BYTES = 4096;

/** Elements converted at a time for the 16-bit dtypes (a 128 KB scratch buffer). */
const CONVERT_BLOCK = 65_536;

/**
 * Checks named tensors (in the map's order) for encoding as one TensorSet with data as `dtype`,
 * and lays the message out: the same bytes protobufjs writes (fields in number order, defaults
 * left out), but each tensor's data is copied once, straight into the sink.
 */
export function planTensorSet(
  tensors: NamedTensors,
  dtype: TensorDType = 'float32',
): TensorSetPlan {
  const layouts: TensorLayout[] = [];
  let totalBytes = 0;
  for (const [name, value] of tensors) {
    const tensor = checkTensorForEncoding(name, value, dtype);
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > MAX_TENSOR_NAME_BYTES)
      throw new ShapeError(
        `tensor name '${abbreviate(name)}' has ${nameBytes.length} bytes, more than decoders read (${MAX_TENSOR_NAME_BYTES})`,
      );
    let shapeBytes = 0;
    for (const d of tensor.shape) shapeBytes += varintSize(d);
    const dataBytes = tensor.data.length * bytesPerElement(dtype);
    const size =
      (nameBytes.length > 0 ? lengthDelimitedSize(TENSOR_NAME, nameBytes.length) : 0) +
      (tensor.shape.length > 0 ? lengthDelimitedSize(TENSOR_SHAPE, shapeBytes) : 0) +
      (tensor.dtypeCode !== 0 ? varintFieldSize(TENSOR_DTYPE, tensor.dtypeCode) : 0) +
      (dataBytes > 0 ? lengthDelimitedSize(TENSOR_DATA, dataBytes) : 0);
    layouts.push({ tensor, name: nameBytes, shapeBytes, dataBytes, size });
    totalBytes += lengthDelimitedSize(TENSOR_SET_TENSORS, size);
  }
  const writeTo = (sink: ByteSink) => {
    const lengthDelimited = (field: number, length: number) => {
      sink.varint(fieldKey(field, 2));
      sink.varint(length);
    };
    for (const { tensor, name, shapeBytes, dataBytes, size } of layouts) {
      lengthDelimited(TENSOR_SET_TENSORS, size);
      if (name.length > 0) {
        lengthDelimited(TENSOR_NAME, name.length);
        sink.bytes(name);
      }
      if (tensor.shape.length > 0) {
        lengthDelimited(TENSOR_SHAPE, shapeBytes);
        for (const d of tensor.shape) sink.varint(d);
      }
      if (tensor.dtypeCode !== 0) {
        sink.varint(fieldKey(TENSOR_DTYPE, 0));
        sink.varint(tensor.dtypeCode);
      }
      if (dataBytes > 0) {
        lengthDelimited(TENSOR_DATA, dataBytes);
        writeData(tensor.data, dtype, sink);
      }
    }
  };
  return { totalBytes, writeTo };
}

function writeData(data: Float32Array, dtype: TensorDType, sink: ByteSink): void {
  if (dtype === 'float32' && HOST_IS_LITTLE_ENDIAN) {
    sink.bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return;
  }
  for (let i = 0; i < data.length; i += CONVERT_BLOCK)
    sink.bytes(encodeTensorData(data.subarray(i, i + CONVERT_BLOCK), dtype));
}

/** Encodes named tensors as one TensorSet message (in the map's order), data as `dtype`. */
export function encodeTensorSet(tensors: NamedTensors, dtype: TensorDType = 'float32'): Uint8Array {
  const plan = planTensorSet(tensors, dtype);
  const out = new Uint8Array(plan.totalBytes);
  plan.writeTo(createRegionSink([out]));
  return out;
}

/**
 * Decodes a TensorSet message — one buffer, or the consecutive parts of a reassembled chunked
 * payload, read in place — into named float32 tensors: each tensor's data is copied once, into
 * its Float32Array. Throws CodecError for malformed bytes or two tensors with one name,
 * ShapeError for an unknown dtype or data that does not fit the shape.
 */
export function decodeTensorSet(
  payload: Uint8Array | readonly Uint8Array[],
  {
    allocate = (elements) => new Float32Array(elements),
  }: {
    /** Where each tensor's data goes (e.g. a Float32ArrayPool); every element is written. */
    allocate?: (elements: number) => Float32Array;
  } = {},
): Map<string, TensorValue> {
  const reader = new PartsReader(payload instanceof Uint8Array ? [payload] : payload);
  const tensors: Array<TensorValue & { name: string }> = [];
  try {
    while (reader.pos < reader.length) {
      const key = reader.varint();
      if (key === fieldKey(TENSOR_SET_TENSORS, 2))
        tensors.push(readTensor(reader, reader.checkedEnd(reader.varint()), allocate));
      else reader.skipField(key & 7);
    }
  } catch (error) {
    if (!(error instanceof CodecError)) throw error; // a ShapeError says what does not fit
    throw new CodecError(
      `not a valid TensorSet message (${reader.length} bytes): ${error.message}`,
      { cause: error },
    );
  }
  const out = new Map<string, TensorValue>();
  for (const { name, shape, data } of tensors) {
    if (out.has(name))
      throw new CodecError(`TensorSet has two tensors named '${abbreviate(name)}'`);
    out.set(name, { shape, data });
  }
  return out;
}

const UTF8 = new TextDecoder();

/** Reads one Tensor message ending at `end` (fields in any order, unknown ones skipped). */
function readTensor(
  reader: PartsReader,
  end: number,
  allocate: (elements: number) => Float32Array,
): TensorValue & { name: string } {
  let name = '';
  const shape: number[] = [];
  let dtypeCode = 0;
  let data = { pos: 0, length: 0 };
  while (reader.pos < end) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === TENSOR_NAME && wireType === 2) {
      const length = reader.varint();
      const stop = reader.checkedEnd(length, end);
      if (length > MAX_TENSOR_NAME_BYTES)
        throw new CodecError(
          `a tensor name of ${length} bytes is longer than ${MAX_TENSOR_NAME_BYTES}, which no rnnstream encoder writes (fix: find what else produces to this topic)`,
        );
      name = UTF8.decode(reader.bytesAt(reader.pos, length));
      reader.seek(stop);
    } else if (field === TENSOR_SHAPE && wireType === 2) {
      const stop = reader.checkedEnd(reader.varint(), end);
      while (reader.pos < stop) shape.push(reader.varint());
      if (reader.pos !== stop) throw new CodecError(`packed shape overruns its field`);
    } else if (field === TENSOR_SHAPE && wireType === 0) shape.push(reader.varint());
    else if (field === TENSOR_DTYPE && wireType === 0) dtypeCode = reader.varint();
    else if (field === TENSOR_DATA && wireType === 2) {
      const length = reader.varint();
      data = { pos: reader.pos, length };
      reader.seek(reader.checkedEnd(length, end));
    } else reader.skipField(wireType);
  }
  if (reader.pos !== end)
    throw new CodecError(`a Tensor overruns its field (${reader.pos} > ${end})`);
  const { dtype, elements } = checkTensorHeader({ name, shape, dtypeCode, dataBytes: data.length });
  if (dtype === 'float32' && HOST_IS_LITTLE_ENDIAN) {
    const values = allocate(elements);
    reader.copyAt(data.pos, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    reader.seek(end);
    return { name, shape, data: values };
  }
  const values = decodeTensorData(reader.bytesAt(data.pos, data.length), dtype, allocate);
  reader.seek(end);
  return { name, shape, data: values };
}
