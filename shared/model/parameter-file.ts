import { readFile, rename, writeFile } from 'node:fs/promises';
import { renderValue } from '../errors/render-value.js';
import { ShapeError } from '../errors/index.js';
import type { ModelSpec } from './model-spec.js';
import type { NamedArray, ParameterSet } from './parameter-set.js';
import type { Seq2seqSpec } from './seq2seq/seq2seq-spec.js';

const MAGIC = 'RNNSTREAM-PARAMS-1';

export interface ParameterFileContents {
  readonly spec: ModelSpec;
  readonly version: number;
  readonly arrays: Map<string, NamedArray>;
  /** Anything else the writer wanted to keep beside the tensors (e.g. the config, the label list). */
  readonly extra: Record<string, unknown>;
}

/**
 * Parameters on disk: a JSON header line (magic, spec, version, tensor table) followed by the
 * tensors as little-endian float32, in header order. Written to a temp file and renamed, so a
 * crash never leaves a half-written checkpoint under the real name.
 */
export async function saveParameterFile(
  path: string,
  {
    spec,
    params,
    ...extra
  }: { spec: ModelSpec | Seq2seqSpec; params: ParameterSet } & Record<string, unknown>,
): Promise<void> {
  const arrays = params.toNamedArrays();
  const tensors = [...arrays].map(([name, { shape }]) => ({ name, shape }));
  const header = Buffer.from(
    JSON.stringify({ magic: MAGIC, spec, version: params.version, tensors, extra }) + '\n',
    'utf8',
  );
  const body = [...arrays.values()].map(({ data }) => littleEndianBytes(data));
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat([header, ...body]));
  await rename(tmp, path);
}

export async function loadParameterFile(path: string): Promise<ParameterFileContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ShapeError(
      `cannot read parameter file '${path}': ${(err as Error).message} (fix: pass a file written by 'rnnstream run --save-params')`,
      { cause: err },
    );
  }
  const newline = bytes.indexOf(0x0a);
  let header: {
    magic?: string;
    spec: ModelSpec;
    version: number;
    tensors: Array<{ name: string; shape: number[] }>;
    extra?: Record<string, unknown>;
  };
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
  } catch {
    header = { spec: undefined as never, version: 0, tensors: [] };
  }
  if (newline < 0 || header.magic !== MAGIC) {
    throw new ShapeError(
      `'${path}' is not an rnnstream parameter file (no '${MAGIC}' header) (fix: pass a file written by 'rnnstream run --save-params')`,
    );
  }
  const problem = headerProblem(header);
  if (problem !== undefined)
    throw new ShapeError(
      `parameter file '${path}' has a damaged header: ${problem} (fix: pass a file written by 'rnnstream run --save-params', or write it again)`,
    );
  const arrays = new Map<string, NamedArray>();
  let offset = newline + 1;
  for (const { name, shape } of header.tensors) {
    const length = shape.reduce((a, b) => a * b, 1);
    // Checked before allocating: a forged shape must not ask for gigabytes.
    if (offset + length * 4 > bytes.length)
      throw new ShapeError(`parameter file '${path}' is truncated at tensor '${name}'`);
    const data = new Float32Array(length);
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length * 4);
    for (let i = 0; i < length; i++) data[i] = view.getFloat32(i * 4, true);
    arrays.set(name, { shape, data });
    offset += length * 4;
  }
  return { spec: header.spec, version: header.version, arrays, extra: header.extra ?? {} };
}

/** What is wrong with a parsed header (a file is outside bytes: it may have been edited or cut). */
function headerProblem(header: {
  spec: unknown;
  version: unknown;
  tensors: unknown;
  extra?: unknown;
}): string | undefined {
  if (header.spec === null || typeof header.spec !== 'object') return '"spec" is not an object';
  if (!Number.isSafeInteger(header.version) || (header.version as number) < 0)
    return `"version" is ${renderValue(header.version)}, not an integer >= 0`;
  if (header.extra !== undefined && (header.extra === null || typeof header.extra !== 'object'))
    return '"extra" is not an object';
  if (!Array.isArray(header.tensors)) return '"tensors" is not an array';
  for (const [i, t] of (header.tensors as unknown[]).entries()) {
    const { name, shape } = (t ?? {}) as { name?: unknown; shape?: unknown };
    if (typeof name !== 'string') return `tensors[${i}].name is ${renderValue(name)}, not a string`;
    if (
      !Array.isArray(shape) ||
      shape.length > 8 ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0 && d < 2 ** 31)
    )
      return `tensors[${i}].shape is ${renderValue(shape)}, not a list of sizes`;
  }
  return undefined;
}

function littleEndianBytes(data: Float32Array): Buffer {
  const out = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, i * 4);
  return out;
}
