import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { GradientMessage } from '../../../shared/codec/gradient-codec.js';
import { decodeParamChunks, type DecodedParams } from '../../../shared/codec/param-codec.js';
import type { TensorDType } from '../../../shared/codec/tensor-codec.js';
import {
  gradientMessageRecords,
  parseParamChunkKey,
} from '../../../shared/paramserver-client/index.js';
import {
  createKafkaBus,
  type KafkaBusRecord,
  type KafkaClient,
  type RecordSender,
} from '../../../shared/transport/kafka/index.js';
import { collectBatches } from '../kafka/client.js';

const bin = fileURLToPath(new URL('../../../../bin/rnnstream.js', import.meta.url));

/** What a simulated worker does: its gradient as GradientChunk records, one chunk per send. */
export async function sendGradient({
  sender,
  topic,
  message,
  encoding = 'float32',
}: {
  sender: RecordSender;
  topic: string;
  message: GradientMessage;
  encoding?: TensorDType;
}): Promise<number> {
  const records = gradientMessageRecords({ message, encoding });
  await sender.send({ topic, messages: records });
  return records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
}

/** Every committed record of `topic` from the beginning to its current end. */
export async function readWholeTopic(
  client: KafkaClient,
  topic: string,
): Promise<KafkaBusRecord[]> {
  const bus = createKafkaBus({ client, groupId: `${topic}.reader.${Date.now()}` });
  try {
    const batches = bus.consumer().batches({ topic, maxBatchSize: 500 });
    bus.close(topic);
    return (await collectBatches(batches)).flat();
  } finally {
    await bus.disconnect();
  }
}

/** The params topic as versions: each complete version once per set of distinct chunk keys it has, in log order. */
export function versionsOnTopic(
  records: readonly KafkaBusRecord[],
  modelId: string,
): {
  order: number[];
  duplicateKeys: string[];
  versions: Map<number, DecodedParams>;
  maxRecordBytes: number;
  chunks: Map<number, number>;
} {
  const seen = new Set<string>();
  const duplicateKeys: string[] = [];
  const byVersion = new Map<number, Uint8Array[]>();
  const order: number[] = [];
  let maxRecordBytes = 0;
  for (const record of records) {
    if (record.tombstone) continue;
    const key = parseParamChunkKey(record.key);
    if (key === undefined || key.modelId !== modelId) continue;
    if (seen.has(record.key)) duplicateKeys.push(record.key);
    seen.add(record.key);
    maxRecordBytes = Math.max(maxRecordBytes, record.value.length);
    if (!byVersion.has(key.version)) {
      byVersion.set(key.version, []);
      order.push(key.version);
    }
    byVersion.get(key.version)!.push(record.value);
  }
  const versions = new Map([...byVersion].map(([v, chunks]) => [v, decodeParamChunks(chunks)]));
  const chunks = new Map([...byVersion].map(([v, list]) => [v, list.length]));
  return { order, duplicateKeys, versions, maxRecordBytes, chunks };
}

export interface ParamserverChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  stdout(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts `rnnstream paramserver` with `args` as a child process. */
export function spawnParamserver(args: string[]): ParamserverChild {
  const child = spawn(process.execPath, [bin, 'paramserver', ...args], {
    env: { ...process.env, RNNSTREAM_LOG_LEVEL: process.env.RNNSTREAM_LOG_LEVEL || 'info' },
  });
  let out = '';
  let stdout = '';
  child.stdout.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  return { child, output: () => out, stdout: () => stdout, exited };
}
