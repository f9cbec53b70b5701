/** Binary codecs of the Kafka topics (docs/design.md §4; schemas in proto/rnnstream.proto). */
export { rnnstream } from './generated/rnnstream.js';
export { CodecError } from './codec-error.js';
export { crc32 } from './crc32.js';
export { int64ToNumber, checkInt64, type LongBits } from './int64.js';
export {
  toBfloat16Bits,
  fromBfloat16Bits,
  toFloat16Bits,
  fromFloat16Bits,
  float32BitsToBfloat16Bits,
  bfloat16BitsToFloat32Bits,
  float32BitsToFloat16Bits,
  float16BitsToFloat32Bits,
  float32Bits,
  float32FromBits,
} from './half-precision.js';
export {
  encodeTensor,
  decodeTensor,
  encodeTensorData,
  decodeTensorData,
  bytesPerElement,
  elementCount,
  asTensorValue,
  TENSOR_DTYPES,
  type TensorDType,
  type TensorValue,
  type DecodedTensor,
} from './tensor-codec.js';
export { encodeTensorSet, decodeTensorSet, type NamedTensors } from './tensor-set-codec.js';
export {
  splitPayload,
  ChunkAssembler,
  ChunkError,
  DEFAULT_MAX_CHUNK_BYTES,
  type ChunkHeader,
  type PayloadChunk,
  type ChunkErrorKind,
  type DroppedChunkSet,
  type ChunkAssemblerOptions,
  type ChunkAssemblerStats,
} from './chunking.js';
export { encodeChunkMessages, type ChunkedEncodeOptions } from './chunked-tensor-set.js';
export {
  encodeEvent,
  decodeEvent,
  decodeEventPayload,
  eventToMessage,
  messageToEvent,
} from './event-codec.js';
export {
  encodeGradientChunks,
  decodeGradientChunk,
  decodeGradientChunks,
  GradientAssembler,
  type GradientMessage,
  type DecodedGradient,
  type GradientChunkHeader,
} from './gradient-codec.js';
export {
  encodeParamChunks,
  decodeParamChunk,
  decodeParamChunks,
  ParamAssembler,
  type ParamMessage,
  type DecodedParams,
  type ParamChunkHeader,
} from './param-codec.js';
export {
  encodeKeyState,
  decodeKeyState,
  keyStateBytesBound,
  MAX_KEY_STATE_RECORD_BYTES,
  type KeyStateRecord,
  type StepColumns,
  type StateSnapshotRecord,
} from './key-state-codec.js';
export { encodePrediction, encodePredictions, decodePrediction } from './prediction-codec.js';
export {
  encodeDeadLetter,
  decodeDeadLetter,
  describeDeadLetterError,
  type DeadLetterRecord,
} from './dead-letter-codec.js';
export {
  decodeDecodeRequest,
  decodeDecodeResult,
  encodeDecodeRequest,
  encodeDecodeResult,
  peekRequestId,
  type DecodeAsk,
  type DecodeErrorCode,
  type DecodeRequest,
  type DecodeResult,
  type DecodeTaskName,
  type DecodedLabel,
  type DecodeTimings,
  type StateFreshness,
  type TransduceAsk,
  type TransducedHypothesis,
} from './decode-codec.js';
