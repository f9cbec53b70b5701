/**
 * `rnnstream doctor`: every check in turn, each independent of the others' outcome but for what
 * they share (the configuration names the app and the backend asked for). The report is the list
 * of findings; a failure anywhere makes it a failed report.
 */
import type { KafkaConfig } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { createKafkaClient } from '../../shared/transport/kafka/index.js';
import { checkBackend } from './backend-check.js';
import { checkConfig } from './config-check.js';
import { checkCuda } from './cuda-check.js';
import { fail, splitFix, type Finding } from './finding.js';
import { checkKafka } from './kafka-check.js';

export interface DoctorReport {
  readonly findings: readonly Finding[];
  /** Findings with status 'fail': the exit code is 1 when there is any. */
  readonly failures: number;
  readonly warnings: number;
}

export async function runDoctor({
  configPath,
  brokers,
  logger,
}: {
  configPath: string | undefined;
  /** --brokers; undefined: Kafka is not checked. */
  brokers: string | undefined;
  /** Receives kafkajs' own log lines. */
  logger: Logger;
}): Promise<DoctorReport> {
  const { findings: configFindings, config } = await checkConfig({ path: configPath });
  const findings: Finding[] = [
    ...configFindings,
    ...(await checkBackend({ requested: config?.backend ?? 'auto' })),
    ...checkCuda(),
  ];
  if (brokers !== undefined)
    findings.push(
      ...(await kafkaFindings({ brokers, app: config?.app, security: config?.kafka, logger })),
    );
  return {
    findings,
    failures: findings.filter((f) => f.status === 'fail').length,
    warnings: findings.filter((f) => f.status === 'warn').length,
  };
}

async function kafkaFindings({
  brokers,
  app,
  security,
  logger,
}: {
  brokers: string;
  app: string | undefined;
  /** The config's `kafka` section (TLS, SASL); the RNNSTREAM_KAFKA_* variables apply over it. */
  security: KafkaConfig | undefined;
  logger: Logger;
}): Promise<Finding[]> {
  let client;
  try {
    // One retry: an unreachable cluster is a finding, reported in seconds, not after kafkajs' back-off.
    client = createKafkaClient({
      clientId: `${app ?? 'rnnstream'}-doctor`,
      brokers,
      logger,
      retries: 1,
      security,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const { detail, fix } = splitFix(error.message);
    return [fail('kafka', detail, fix ?? 'pass --brokers host:port[,host:port...]')];
  }
  return checkKafka({ client, app });
}
