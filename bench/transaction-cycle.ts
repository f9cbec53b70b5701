/**
 * Back-to-back Kafka transactions, as the paramserver publishes versions and a decoder answers
 * batches: begin, send one record, commit, begin again at once. A transaction begun before the
 * coordinator has written the previous one's commit markers is answered CONCURRENT_TRANSACTIONS;
 * this measures what that costs with the first retry back-off kafkajs uses by default (300 ms)
 * against the short one rnnstream's transactional producers use (as the Java client's 20 ms
 * AddPartitionsToTxn back-off), in one run on one broker.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node dist/bench/transaction-cycle.js [--transactions 200]
 *     [--backoffs 300,20] [--out bench/results/transaction-cycle.json]
 */
import { writeFile } from 'node:fs/promises';

import { createLogger } from '../shared/logging/index.js';
import {
  createKafkaClient,
  createTransactionalProducer,
  ensureTopics,
  topicNames,
  withKafkaAdmin,
} from '../shared/transport/kafka/index.js';
import { benchArgs, positiveNumber } from './bench-args.js';
import { benchBrokers } from './bench-broker.js';

const args = benchArgs({ transactions: '200', backoffs: '300,20', out: undefined });
const transactions = positiveNumber('transactions', args.transactions, '200');
const backoffs = args.backoffs.split(',').map((b) => positiveNumber('backoffs', b, '300,20'));
const say = (line: string) => process.stderr.write(`[transaction-cycle] ${line}\n`);

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const broker = await benchBrokers(say);
try {
  const logger = createLogger({ name: 'transaction-cycle', level: 'error' });
  const client = createKafkaClient({ clientId: 'transaction-cycle', brokers: broker.list, logger });
  const app = `bench-txn-${Date.now()}`;
  await withKafkaAdmin({ client }, (admin) =>
    ensureTopics({ admin, app, partitions: 1, replicationFactor: 1, brokers: client.brokers }),
  );
  const topic = topicNames(app).params;
  const rows = [];
  for (const backoffMs of backoffs) {
    const producer = createTransactionalProducer({
      client,
      transactionalId: `${app}-${backoffMs}`,
      initialRetryTimeInMs: backoffMs,
    });
    await producer.connect();
    const ms: number[] = [];
    for (let i = 0; i < transactions + 5; i++) {
      const started = performance.now();
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [{ key: 'v', value: new Uint8Array(64) }] });
      await txn.commit();
      if (i >= 5) ms.push(performance.now() - started); // 5 warm-up transactions
    }
    await producer.disconnect();
    ms.sort((a, b) => a - b);
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    const row = {
      firstRetryBackoffMs: backoffMs,
      transactions: ms.length,
      meanMs: Number(mean.toFixed(1)),
      p50Ms: Number(quantile(ms, 0.5).toFixed(1)),
      p99Ms: Number(quantile(ms, 0.99).toFixed(1)),
      over100Ms: ms.filter((t) => t > 100).length,
      perSecond: Number((1000 / mean).toFixed(1)),
    };
    rows.push(row);
    say(JSON.stringify(row));
  }
  console.log(
    '| first retry back-off | transactions | mean ms | p50 ms | p99 ms | > 100 ms | per second |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.firstRetryBackoffMs} ms | ${r.transactions} | ${r.meanMs} | ${r.p50Ms} | ${r.p99Ms} | ${r.over100Ms} | ${r.perSecond} |`,
    );
  if (args.out)
    await writeFile(
      args.out,
      JSON.stringify(
        { date: new Date().toISOString(), brokers: 'local single-node KRaft', rows },
        null,
        2,
      ) + '\n',
    );
} finally {
  await broker.stop();
}
