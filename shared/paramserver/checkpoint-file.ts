import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ShapeError } from '../errors/index.js';
import type { ModelSpec } from '../model/model-spec.js';
import type { GradientPosition, ParameterServerState } from './parameter-server.js';
import type { WorkerProgressSnapshot } from './worker-progress.js';

const MAGIC = 'RNNSTREAM-PARAMSERVER-CHECKPOINT-1';
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** A paramserver checkpoint: the server state plus what identifies it and where to read on. */
export interface ParamserverCheckpoint extends ParameterServerState {
  readonly modelId: string;
  readonly spec: ModelSpec;
  /** Per partition of `<app>.gradients`, the offset to read from to see every gradient not yet applied. */
  readonly gradientOffsets: readonly GradientPosition[];
  readonly writtenAtMs: number;
}

interface Header {
  magic: string;
  modelId: string;
  spec: ModelSpec;
  version: number;
  scheduleStep: number;
  params: Array<{ name: string; shape: number[] }>;
  optimizer: { type: 'adam' | 'sgd'; step: number; slots: Array<{ key: string; length: number }> };
  progress: WorkerProgressSnapshot;
  lastSeenMs: Record<string, number>;
  gradientOffsets: GradientPosition[];
  writtenAtMs: number;
}

/** The checkpoint file of a model id in a directory (one file, replaced on every write). */
export function checkpointPath(dir: string, modelId: string): string {
  return join(dir, `paramserver-${modelId}.ckpt`);
}

/**
 * Writes the checkpoint so that a crash at any moment leaves either the previous complete file or
 * the new complete file under the real name: temp file → fsync → rename → fsync of the directory.
 * Layout: one JSON header line, then the parameters and optimizer slots as little-endian float32
 * in header order. Returns the file's path and size.
 */
export async function writeCheckpoint(
  dir: string,
  checkpoint: ParamserverCheckpoint,
): Promise<{ path: string; bytes: number }> {
  const optimizer = checkpoint.optimizer;
  if (optimizer === undefined) throw new Error('writeCheckpoint: the state has no optimizer state');
  const slots = [...optimizer.slots];
  const header: Header = {
    magic: MAGIC,
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
  };
  const buffers = [
    Buffer.from(JSON.stringify(header) + '\n', 'utf8'),
    ...checkpoint.params.map((p) => littleEndian(p.values)),
    ...slots.map(([, data]) => littleEndian(data)),
  ];
  const bytes = buffers.reduce((n, b) => n + b.length, 0);
  await mkdir(dir, { recursive: true });
  const path = checkpointPath(dir, checkpoint.modelId);
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w');
  try {
    // writev takes at most IOV_MAX buffers per call; models have tens of tensors, but be safe.
    for (let i = 0; i < buffers.length; i += 512) await file.writev(buffers.slice(i, i + 512));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const directory = await open(dir, 'r');
  try {
    await directory.sync(); // the rename itself must survive a power loss
  } finally {
    await directory.close();
  }
  return { path, bytes };
}

/**
 * Reads the checkpoint of `modelId` in `dir`, or undefined when there is none. Leftover temp files
 * of an interrupted write are removed. A file that is not a complete checkpoint is a ShapeError
 * naming it and the fix.
 */
export async function readCheckpoint(
  dir: string,
  modelId: string,
): Promise<ParamserverCheckpoint | undefined> {
  const path = checkpointPath(dir, modelId);
  const names = await readdir(dir).catch(() => [] as string[]);
  const tmpPrefix = `paramserver-${modelId}.ckpt.tmp-`;
  for (const name of names)
    if (name.startsWith(tmpPrefix)) await rm(join(dir, name), { force: true });
  if (!names.includes(`paramserver-${modelId}.ckpt`)) return undefined;

  const bytes = await readFile(path);
  const fix = `(fix: restore the file from a backup, or move it away to resume from the parameters published on the params topic)`;
  const newline = bytes.indexOf(0x0a);
  let header: Header | undefined;
  try {
    header =
      newline < 0 ? undefined : (JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Header);
  } catch {
    header = undefined;
  }
  if (header?.magic !== MAGIC)
    throw new ShapeError(`'${path}' is not a paramserver checkpoint (no ${MAGIC} header) ${fix}`);
  if (header.modelId !== modelId)
    throw new ShapeError(`'${path}' holds model id '${header.modelId}', not '${modelId}' ${fix}`);
  let offset = newline + 1;
  const take = (length: number, what: string): Float32Array => {
    if (offset + length * 4 > bytes.length)
      throw new ShapeError(`checkpoint '${path}' is truncated at ${what} ${fix}`);
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
      `checkpoint '${path}' has ${bytes.length - offset} bytes after its last tensor ${fix}`,
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
  };
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
