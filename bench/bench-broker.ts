import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The brokers a Kafka benchmark runs against: $KAFKA_BROKERS, or a local single-node KRaft
 * broker started for the run (scripts/kafka) and stopped by `stop()`.
 */
export async function benchBrokers(
  say: (line: string) => void,
): Promise<{ list: string[]; stop(): Promise<void> }> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) return { list: fromEnv.split(','), stop: async () => {} };
  const { startLocalBroker } = (await import(
    path.join(ROOT, 'scripts', 'kafka', 'local-broker.mjs')
  )) as {
    startLocalBroker(o: object): Promise<{ brokers: string; stop(): Promise<void> }>;
  };
  say('KAFKA_BROKERS not set: starting a local broker');
  const broker = await startLocalBroker({ log: (line: string) => say(line) });
  return { list: broker.brokers.split(','), stop: () => broker.stop() };
}
