/** What the decoder-service client commands (`generate --brokers`, `decode`) share. */
import type { Command } from 'commander';

import type { DecodeResult } from '../../shared/codec/decode-codec.js';
import { loadConfigFile, type KafkaConfig } from '../../shared/config/index.js';
import { createDecoderClient, type DecoderClient } from '../../shared/decoder-client/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createKafkaClient } from '../../shared/transport/kafka/index.js';
import { EXIT, usageError } from './options.js';

/**
 * The app whose topics to use: `--app`, or the `app` of `--config`; and how to connect: the
 * `kafka` section of `--config` (with --app, the RNNSTREAM_KAFKA_* variables alone).
 */
export async function targetOf(
  flags: { app?: string; config?: string },
  command: Command,
): Promise<{ app: string; kafka: KafkaConfig | undefined }> {
  if (flags.app !== undefined && flags.config !== undefined)
    usageError(command, 'give --app or --config, not both');
  if (flags.app !== undefined) return { app: flags.app, kafka: undefined };
  if (flags.config !== undefined) {
    const { app, kafka } = await loadConfigFile(flags.config);
    return { app, kafka };
  }
  return usageError(command, 'name the app: --config cfg.json (its "app") or --app ID');
}

export async function withDecoderClient(
  {
    brokers,
    app,
    kafka: security,
    name,
  }: { brokers: string; app: string; kafka: KafkaConfig | undefined; name: string },
  use: (client: DecoderClient) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ name });
  const kafka = createKafkaClient({ clientId: `${app}-${name}`, brokers, logger, security });
  const client = await createDecoderClient({ client: kafka, app });
  try {
    await use(client);
  } finally {
    await client.close();
  }
}

/** One JSON line for a result; an error result also sets the exit code (1). */
export function printResult(result: DecodeResult): void {
  const plain = {
    ...result,
    startState: result.startState ? Array.from(result.startState) : undefined,
    nextDistribution: result.nextDistribution ? Array.from(result.nextDistribution) : undefined,
  };
  process.stdout.write(JSON.stringify(plain) + '\n');
  if (result.error) {
    process.stderr.write(`error (${result.errorCode}): ${result.error}\n`);
    process.exitCode = EXIT.failed;
  }
}
