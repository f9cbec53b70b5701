import { Counter, type Registry } from 'prom-client';

export const CHUNK_REJECTIONS = [
  'undecodable',
  'corrupt',
  'duplicate',
  'mismatch',
  'invalid',
] as const;
export type ChunkRejection = (typeof CHUNK_REJECTIONS)[number];

/** GradientChunk records that could not be used (logged with the reason; never fatal). */
export function gradientChunksRejectedTotal(registry: Registry): Counter<'kind'> {
  const counter = new Counter({
    name: 'rnnstream_paramserver_gradient_chunks_rejected_total',
    help: 'GradientChunk records rejected, by kind: undecodable (not a GradientChunk), corrupt (checksum), duplicate, mismatch (header differs from its set), invalid (impossible header).',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of CHUNK_REJECTIONS) counter.inc({ kind }, 0);
  return counter;
}
