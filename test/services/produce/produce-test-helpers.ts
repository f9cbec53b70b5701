import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createLogger, type Logger } from '../../../shared/logging/index.js';
import {
  createKafkaBus,
  type KafkaBusRecord,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import { collectBatches } from '../../support/kafka/client.js';

/**
 * Every record of `topic`, read back the way the worker reads it: a read_committed consumer of
 * createKafkaBus in a fresh group, from the beginning, ending once the group reached the end.
 */
export async function readTopic(client: KafkaClient, topic: string): Promise<KafkaBusRecord[]> {
  const bus = createKafkaBus({ client, groupId: `${topic}.reader-${Date.now()}` });
  try {
    bus.close(topic); // production is over: end at the topic's current end
    const batches = await collectBatches(bus.consumer().batches({ topic, maxBatchSize: 10_000 }));
    return batches.flat() as KafkaBusRecord[];
  } finally {
    await bus.disconnect();
  }
}

/** A logger keeping its JSON lines in memory, so a test can read what a user would. */
export function memoryLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const logger = createLogger({
    name: 'produce-test',
    level: 'info',
    destination: { write: (s: string) => void chunks.push(s) },
  });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `rnnstream-${prefix}-`));
}
