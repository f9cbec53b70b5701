import { constants } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { basename, join } from 'node:path';

import { abbreviate } from '../errors/abbreviate.js';
import { crc32 } from '../codec/crc32.js';
import { ShapeError } from '../errors/index.js';
import type { ParamsSpec } from '../model/params-spec.js';
import type { GradientPosition, ParameterServerState } from './parameter-server.js';
import { vocabularyProblem } from '../vocabulary/vocabulary-check.js';
import type { ServerVocabularyJson } from '../vocabulary/server-vocabulary.js';
import type { WorkerProgressSnapshot } from './worker-progress.js';

/** Format 2: two slot files overwritten in place by turns, each with its length and CRC-32. */
const MAGIC_V2 = 'RNNSTREAM-CKPT-2';
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** A paramserver checkpoint: the server state plus what identifies it and where to read on. */
export interface ParamserverCheckpoint extends ParameterServerState {
  readonly modelId: string;
  readonly spec: ParamsSpec;
  /** Per partition of `<app>.gradients`, the offset to read from to see every gradient not yet applied. */
  readonly gradientOffsets: readonly GradientPosition[];
  readonly writtenAtMs: number;
}

interface Header {
  magic: string;
  modelId: string;
  spec: ParamsSpec;
  version: number;
  scheduleStep: number;
  params: Array<{ name: string; shape: number[] }>;
  optimizer: { type: 'adam' | 'sgd'; step: number; slots: Array<{ key: string; length: number }> };
  progress: WorkerProgressSnapshot;
  lastSeenMs: Record<string, number>;
  gradientOffsets: GradientPosition[];
  writtenAtMs: number;
  /** input.tokenizer "words" only (absent in older checkpoints and other tokenizers). */
  vocabulary?: ServerVocabularyJson;
}

// Format 2 preamble (40 bytes, little-endian): magic (16 bytes ASCII), sequence (u64), file
// length (u64), JSON header length (u32), CRC-32 of preamble bytes 0–35 followed by everything
// after the preamble (u32). The JSON header line follows, then the tensors: each parameter, then
// each optimizer slot, as little-endian float32 in the header's order.
const PREAMBLE_BYTES = 40;
const AT_SEQUENCE = 16;
const AT_LENGTH = 24;
const AT_HEADER_LENGTH = 32;
const AT_CRC = 36;

/** The two slot files of a model id in a directory, written by turns. */
export function checkpointSlotPaths(dir: string, modelId: string): readonly [string, string] {
  return [join(dir, `paramserver-${modelId}.a.ckpt`), join(dir, `paramserver-${modelId}.b.ckpt`)];
}

/** A slot file that does not hold a complete checkpoint, and why. */
export interface InvalidCheckpointSlot {
  readonly path: string;
  readonly reason: string;
}

/**
 * Where a paramserver keeps its checkpoints: two slot files in `directory`, overwritten in place by
 * turns, each carrying a sequence number, its length and a CRC-32. A write goes over the slot that
 * does not hold the newest complete checkpoint, so a crash at any moment leaves that one intact;
 * reading takes the complete slot with the highest sequence.
 *
 * Why not a new file and a rename each time: on this kind of machine (ext4 in a VM) writing a
 * 67 MB file into fresh page-cache pages costs ~160 ms of kernel time, overwriting the cached
 * pages of an existing file ~12 ms (BENCHMARKS.md, "Parameter service rounds").
 */
export interface CheckpointStore {
  readonly directory: string;
  readonly modelId: string;
  /** The newest complete checkpoint, or undefined when the directory holds none. */
  read(): Promise<ParamserverCheckpoint | undefined>;
  /** Makes `checkpoint` the newest one; it is on disk (fdatasync) when this resolves. */
  write(checkpoint: ParamserverCheckpoint): Promise<{ path: string; bytes: number }>;
}

export function createCheckpointStore({
  directory,
  modelId,
  onInvalidSlot = () => {},
}: {
  directory: string;
  modelId: string;
  /** Told about a slot passed over (a write interrupted by a crash leaves one). */
  onInvalidSlot?: (slot: InvalidCheckpointSlot) => void;
}): CheckpointStore {
  const slots = checkpointSlotPaths(directory, modelId);
  // The slot holding the newest complete checkpoint (undefined: none yet) and its sequence.
  let newest: { slot: number | undefined; sequence: number } | undefined;

  /** Finds the newest complete slot; returns its bytes when `keep` (to decode it). */
  const scan = async (keep: boolean) => {
    await removeTempFiles(directory, slots);
    let best: { slot: number; sequence: number; bytes: Buffer | undefined } | undefined;
    const invalid: InvalidCheckpointSlot[] = [];
    for (const [slot, path] of slots.entries()) {
      const bytes = await readIfExists(path);
      if (bytes === undefined) continue;
      const check = checkSlot(bytes, modelId);
      if (typeof check === 'string') invalid.push({ path, reason: check });
      else if (best === undefined || check.sequence > best.sequence)
        best = { slot, sequence: check.sequence, bytes: keep ? bytes : undefined };
    }
    if (best === undefined && invalid.length > 0) {
      // Slot files are created complete (temp file + rename) and only the older one is ever
      // overwritten, so no complete slot at all means damage from outside, not a crash.
      throw new ShapeError(
        `no complete paramserver checkpoint in '${directory}': ${invalid.map((s) => `'${s.path}': ${s.reason}`).join('; ')} ${FIX}`,
      );
    }
    for (const s of invalid) onInvalidSlot(s);
    newest = { slot: best?.slot, sequence: best?.sequence ?? 0 };
    return best;
  };

  return {
    directory,
    modelId,
    async read() {
      const best = await scan(true);
      return best === undefined
        ? undefined
        : decodeCheckpoint(slots[best.slot]!, best.bytes!, modelId);
    },
    async write(checkpoint) {
      if (newest === undefined) await scan(false);
      const target = newest!.slot === 0 ? 1 : 0;
      const sequence = newest!.sequence + 1;
      const path = slots[target]!;
      const buffers = encodeCheckpoint(checkpoint, sequence);
      const bytes = buffers.reduce((n, b) => n + b.length, 0);
      await mkdir(directory, { recursive: true });
      if (await exists(path)) await overwriteInPlace(path, buffers, bytes);
      else await createComplete(directory, path, buffers);
      newest = { slot: target, sequence };
      return { path, bytes };
    },
  };
}

/** The newest complete checkpoint of `modelId` in `dir`, or undefined when there is none. */
export function readCheckpoint(
  dir: string,
  modelId: string,
  onInvalidSlot?: (slot: InvalidCheckpointSlot) => void,
): Promise<ParamserverCheckpoint | undefined> {
  return createCheckpointStore({ directory: dir, modelId, onInvalidSlot }).read();
}

/** Writes one checkpoint (a store of its own: scans the slots first; tests and tools). */
export function writeCheckpoint(
  dir: string,
  checkpoint: ParamserverCheckpoint,
): Promise<{ path: string; bytes: number }> {
  return createCheckpointStore({ directory: dir, modelId: checkpoint.modelId }).write(checkpoint);
}

const FIX =
  '(fix: restore the checkpoint directory from a backup, or move it away to resume from the parameters published on the params topic)';

function encodeCheckpoint(checkpoint: ParamserverCheckpoint, sequence: number): Buffer[] {
  const optimizer = checkpoint.optimizer;
  if (optimizer === undefined) throw new Error('writeCheckpoint: the state has no optimizer state');
  const slots = [...optimizer.slots];
  const header: Header = {
    magic: MAGIC_V2,
    modelId: checkpoint.modelId,
    spec: checkpoint.spec,
    version: checkpoint.version,
    scheduleStep: checkpoint.scheduleStep,
    params: checkpoint.params.map(({ name, shape }) => ({ name, shape: [...shape] })),
    optimizer: {
      type: optimizer.type,
      step: optimizer.step,
      slots: slots.map(([key, data]) => ({ key, length: data.length })),
    },
    progress: checkpoint.progress ?? {},
    lastSeenMs: { ...(checkpoint.lastSeenMs ?? {}) },
    gradientOffsets: [...checkpoint.gradientOffsets],
    writtenAtMs: checkpoint.writtenAtMs,
    ...(checkpoint.vocabulary === undefined ? {} : { vocabulary: checkpoint.vocabulary }),
  };
  const body = [
    Buffer.from(JSON.stringify(header) + '\n', 'utf8'),
    ...checkpoint.params.map((p) => littleEndian(p.values)),
    ...slots.map(([, data]) => littleEndian(data)),
  ];
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  preamble.write(MAGIC_V2, 0, 'ascii');
  preamble.writeBigUInt64LE(BigInt(sequence), AT_SEQUENCE);
  const length = PREAMBLE_BYTES + body.reduce((n, b) => n + b.length, 0);
  preamble.writeBigUInt64LE(BigInt(length), AT_LENGTH);
  preamble.writeUInt32LE(body[0]!.length, AT_HEADER_LENGTH);
  let crc = crc32(preamble.subarray(0, AT_CRC));
  for (const b of body) crc = crc32(b, crc);
  preamble.writeUInt32LE(crc, AT_CRC);
  return [preamble, ...body];
}

/**
 * The slot's sequence if it is a complete format-2 checkpoint of `modelId`, else why not. A slot
 * that passes decodes without error: its header is checked field by field and its tensors must
 * fill the file exactly, so that a slot with a valid CRC but a header no writer makes (another
 * version's, or damage) is passed over for the other slot rather than failing the load.
 */
function checkSlot(bytes: Buffer, modelId: string): { sequence: number } | string {
  if (bytes.length < PREAMBLE_BYTES || bytes.toString('ascii', 0, 16) !== MAGIC_V2)
    return `not a paramserver checkpoint slot (no ${MAGIC_V2} preamble)`;
  const length = Number(bytes.readBigUInt64LE(AT_LENGTH));
  if (length !== bytes.length)
    return `${bytes.length} bytes where the preamble says ${length} (an interrupted write)`;
  const crc = crc32(bytes.subarray(PREAMBLE_BYTES), crc32(bytes.subarray(0, AT_CRC)));
  if (crc !== bytes.readUInt32LE(AT_CRC)) return 'CRC-32 mismatch (an interrupted write)';
  // The next write uses sequence + 1, which must stay exact and fit the u64 field.
  const sequence = Number(bytes.readBigUInt64LE(AT_SEQUENCE));
  if (!Number.isSafeInteger(sequence))
    return `sequence ${sequence} is beyond 2^53 (no writer counts that far)`;
  const headerLength = bytes.readUInt32LE(AT_HEADER_LENGTH);
  if (headerLength > bytes.length - PREAMBLE_BYTES)
    return `a header of ${headerLength} bytes runs past the end of the file`;
  const header = parseHeader(bytes, PREAMBLE_BYTES, headerLength);
  if (header === undefined) return 'unreadable header';
  const problem = headerProblem(header);
  if (problem !== undefined) return `unusable header: ${problem}`;
  if (header.modelId !== modelId)
    return `holds model id '${abbreviate(header.modelId)}', not '${modelId}'`;
  const tensorBytes = 4 * tensorElements(header);
  if (PREAMBLE_BYTES + headerLength + tensorBytes !== bytes.length)
    return `the header lists ${tensorBytes} bytes of tensors but ${bytes.length - PREAMBLE_BYTES - headerLength} follow it`;
  return { sequence };
}

/** Float32 values the header's parameters and optimizer slots hold. */
function tensorElements(header: Header): number {
  let n = 0;
  for (const { shape } of header.params) n += shape.reduce((a, b) => a * b, 1);
  for (const { length } of header.optimizer.slots) n += length;
  return n;
}

/**
 * Why a parsed header is not one encodeCheckpoint writes, or undefined. Only what
 * loading uses is checked: the tensors' names and sizes, and each field's type, so that a header
 * from outside (a CRC guards only against torn writes) cannot make decodeBody or the server's
 * start-up throw a TypeError, allocate by a bogus size or recurse into a deep spec.
 */
function headerProblem(value: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const isSafe = (v: unknown) => Number.isSafeInteger(v);
  const isFinite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!isObject(value)) return 'not a JSON object';
  const h = value;
  if (h.magic !== MAGIC_V2) return `magic is not ${MAGIC_V2}`;
  if (typeof h.modelId !== 'string') return 'modelId is not a string';
  // A ModelSpec is flat: sizes, names and flags.
  if (!isObject(h.spec) || !Object.values(h.spec).every((v) => v === null || typeof v !== 'object'))
    return 'spec is not an object of plain values';
  if (!isCount(h.version) || !isCount(h.scheduleStep))
    return 'version or scheduleStep is not a non-negative integer';
  if (!isFinite(h.writtenAtMs)) return 'writtenAtMs is not a number';
  if (!Array.isArray(h.params)) return 'params is not a list';
  const names = new Set<string>();
  for (const p of h.params as unknown[]) {
    if (!isObject(p) || typeof p.name !== 'string' || names.has(p.name))
      return 'a parameter has no name, or the name of another';
    names.add(p.name);
    if (!Array.isArray(p.shape) || !p.shape.every(isCount))
      return `parameter '${abbreviate(p.name)}' has no shape of non-negative integers`;
    if (!isCount(p.shape.reduce((a: number, b: number) => a * b, 1)))
      return `parameter '${abbreviate(p.name)}' has more values than a number counts`;
  }
  const o = h.optimizer;
  if (!isObject(o) || (o.type !== 'adam' && o.type !== 'sgd') || !isCount(o.step))
    return 'optimizer is not {type: adam or sgd, step}';
  if (!Array.isArray(o.slots)) return 'optimizer.slots is not a list';
  const keys = new Set<string>();
  for (const slot of o.slots as unknown[]) {
    if (!isObject(slot) || typeof slot.key !== 'string' || keys.has(slot.key))
      return 'an optimizer slot has no key, or the key of another';
    keys.add(slot.key);
    if (!isCount(slot.length))
      return `optimizer slot '${abbreviate(slot.key)}' has no non-negative length`;
  }
  if (!isObject(h.progress)) return 'progress is not an object';
  for (const w of Object.values(h.progress)) {
    if (!isObject(w) || !isSafe(w.highest) || !Array.isArray(w.recent) || !w.recent.every(isSafe))
      return 'progress of a worker is not {highest, recent: steps}';
    if (w.processedAtMs !== undefined && !isFinite(w.processedAtMs))
      return 'progress of a worker has a processedAtMs that is not a time';
  }
  if (!isObject(h.lastSeenMs) || !Object.values(h.lastSeenMs).every(isFinite))
    return 'lastSeenMs is not an object of times';
  if (
    !Array.isArray(h.gradientOffsets) ||
    !h.gradientOffsets.every((g) => isObject(g) && isCount(g.partition) && isSafe(g.offset))
  )
    return 'gradientOffsets is not a list of {partition, offset}';
  return vocabularyProblem(h.vocabulary);
}

function decodeCheckpoint(path: string, bytes: Buffer, modelId: string): ParamserverCheckpoint {
  const headerLength = bytes.readUInt32LE(AT_HEADER_LENGTH);
  const header = parseHeader(bytes, PREAMBLE_BYTES, headerLength)!;
  return decodeBody(path, header, bytes, PREAMBLE_BYTES + headerLength, modelId);
}

function parseHeader(bytes: Buffer, start: number, length: number): Header | undefined {
  try {
    return JSON.parse(bytes.toString('utf8', start, start + length)) as Header;
  } catch {
    return undefined;
  }
}

function decodeBody(
  path: string,
  header: Header,
  bytes: Buffer,
  start: number,
  modelId: string,
): ParamserverCheckpoint {
  if (header.modelId !== modelId)
    throw new ShapeError(
      `'${path}' holds model id '${abbreviate(header.modelId)}', not '${modelId}' ${FIX}`,
    );
  let offset = start;
  const take = (length: number, what: string): Float32Array => {
    if (offset + length * 4 > bytes.length)
      throw new ShapeError(`checkpoint '${path}' is truncated at ${what} ${FIX}`);
    const out = fromLittleEndian(bytes.subarray(offset, offset + length * 4));
    offset += length * 4;
    return out;
  };
  const params = header.params.map(({ name, shape }) => ({
    name,
    shape,
    values: take(
      shape.reduce((a, b) => a * b, 1),
      `parameter '${name}'`,
    ),
  }));
  const slots = new Map(
    header.optimizer.slots.map(({ key, length }) => [key, take(length, `slot '${key}'`)] as const),
  );
  if (offset !== bytes.length)
    throw new ShapeError(
      `checkpoint '${path}' has ${bytes.length - offset} bytes after its last tensor ${FIX}`,
    );
  return {
    modelId: header.modelId,
    spec: header.spec,
    version: header.version,
    scheduleStep: header.scheduleStep,
    params,
    optimizer: { type: header.optimizer.type, step: header.optimizer.step, slots },
    progress: header.progress,
    lastSeenMs: header.lastSeenMs,
    gradientOffsets: header.gradientOffsets,
    writtenAtMs: header.writtenAtMs,
    ...(header.vocabulary === undefined ? {} : { vocabulary: header.vocabulary }),
  };
}

/** Writes all buffers from `position` on; a short write (disk full) is an error, not a torn file. */
async function writeAllAt(
  handle: FileHandle,
  buffers: readonly Buffer[],
  position: number,
): Promise<void> {
  // writev takes at most IOV_MAX buffers per call; models have tens of tensors, but be safe.
  for (let i = 0; i < buffers.length; i += 512) {
    const batch = buffers.slice(i, i + 512);
    const expected = batch.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await handle.writev(batch, position);
    if (bytesWritten !== expected)
      throw new Error(
        `checkpoint write stopped after ${bytesWritten} of ${expected} bytes at offset ${position} (fix: free disk space in the checkpoint directory)`,
      );
    position += expected;
  }
}

/** Overwrites an existing slot's cached pages (no O_TRUNC: that would free them), then trims. */
async function overwriteInPlace(path: string, buffers: readonly Buffer[], bytes: number) {
  const handle = await open(path, constants.O_WRONLY);
  try {
    await writeAllAt(handle, buffers, 0);
    if ((await handle.stat()).size > bytes) await handle.truncate(bytes);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** A new slot file appears complete: temp file → fsync → rename → fsync of the directory. */
async function createComplete(directory: string, path: string, buffers: readonly Buffer[]) {
  const tmp = `${path}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    await writeAllAt(handle, buffers, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const dir = await open(directory, 'r');
  try {
    await dir.sync(); // the rename itself must survive a power loss
  } finally {
    await dir.close();
  }
}

/** Temp files of writes a crash interrupted. */
async function removeTempFiles(directory: string, paths: readonly string[]): Promise<void> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const prefixes = paths.map((p) => `${basename(p)}.tmp-`);
  for (const name of names)
    if (prefixes.some((prefix) => name.startsWith(prefix)))
      await rm(join(directory, name), { force: true });
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** The array's bytes as little-endian float32 (a view, no copy, on little-endian hosts). */
function littleEndian(data: Float32Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, i * 4);
  return out;
}

function fromLittleEndian(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
