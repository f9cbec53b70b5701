/**
 * `rnnstream decode transduce` against a real broker and a decoder serving a seq2seq model: it
 * prints the n-best list with the scores the saved model gives in process, `--json` the whole
 * result, `--source-ids` sends ids; an error result exits 2 with its reason, a bad command line 1.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startDecoder } from '../../../services/decoder/run-decoder.js';
import type { DecodeResult } from '../../../shared/codec/decode-codec.js';
import { parseConfig } from '../../../shared/config/index.js';
import { transduce } from '../../../shared/decoding/transduce.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { createLogger } from '../../../shared/logging/index.js';
import { loadParameterFile } from '../../../shared/model/parameter-file.js';
import { DEFAULT_MODEL_ID, paramRecords } from '../../../shared/paramserver-client/index.js';
import {
  topicNames,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../shared/transport/kafka/index.js';
import {
  REVERSAL_SETTINGS,
  runCli,
  trainReversalModel,
} from '../../support/decoder/reversal-model.js';
import { uniqueTopicPrefix, type TestBroker } from '../../support/kafka/broker.js';
import { withTestKafka } from '../../support/kafka/client.js';
import { createAppTopics, produceRecords } from '../../support/kafka/worker-harness.js';

let client: KafkaClient;
let admin: KafkaAdmin;
let broker: TestBroker;
withTestKafka('decode-transduce-command-test', (kafka) => ({ client, admin, broker } = kafka));
const open: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.stop().catch(() => {});
});

test('decode transduce prints the n-best list with the scores of the served model, --json the whole result; an error result exits 2, a bad command line 1', async () => {
  await selectBackend({ requested: 'cpu', logger: { info() {}, warn() {} } });
  const app = uniqueTopicPrefix('decode-transduce-cli');
  const trained = await trainReversalModel({ app });
  const file = await loadParameterFile(trained.paramsPath);
  await createAppTopics({ admin, app, partitions: 2 });
  await produceRecords({
    client,
    topic: topicNames(app).params,
    records: paramRecords({
      modelId: DEFAULT_MODEL_ID,
      version: file.version,
      tensors: file.arrays,
    }),
  });
  const decoder = await startDecoder({
    config: parseConfig({ app, ...REVERSAL_SETTINGS }, { source: 'decode-transduce-command-test' }),
    client,
    logger: createLogger({ name: 'decode-transduce-command-test', level: 'error' }),
    paramsWaitMs: 20_000,
    sessionTimeoutMs: 6_000,
    progressIntervalMs: Infinity,
  });
  open.push(decoder);
  const model = await trained.load();
  open.push({ stop: async () => model.dispose() });
  const brokers = broker.brokers.join(',');
  const quiet = { RNNSTREAM_LOG_LEVEL: 'warn' };
  /** `rnnstream decode transduce` of this app's decoder with `args`. */
  const decodeTransduce = (...args: string[]) =>
    runCli(['decode', 'transduce', '--brokers', brokers, '--app', app, ...args], quiet);

  const [expected] = transduce({
    model,
    sources: [[...Buffer.from('dcab')]],
    strategy: { type: 'beam', beamWidth: 3, lengthPenalty: 0.6, nBest: 3 },
    maxTargetLength: 6,
  });
  const plain = await runCli(
    [
      'decode',
      'transduce',
      '--brokers',
      brokers,
      '--config',
      trained.configPath,
      '--source',
      'dcab',
      '--beam-width',
      '3',
      '--length-penalty',
      '0.6',
      '--n-best',
      '3',
    ],
    quiet,
  );
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trim().split('\n');
  assert.equal(lines.length, 4, plain.stdout);
  expected!.forEach((h, k) => {
    const [rank, score, logProb, end, text, ids] = lines[k]!.split('\t');
    assert.equal(rank, String(k + 1));
    assert.equal(score, `score ${h.score.toFixed(4)}`);
    assert.equal(logProb, `log p ${h.logProb.toFixed(4)}`);
    assert.equal(end, h.finished ? 'stop' : 'length');
    assert.equal(text, JSON.stringify(Buffer.from(h.tokens).toString('utf8')));
    assert.equal(ids, `[${h.tokens.join(' ')}]`);
  });
  assert.equal(lines[3], `(parameter version ${file.version})`);

  // --source-ids: the bytes of "ab" as ids; --json: the whole result.
  const json = await decodeTransduce('--source-ids', '97,98', '--max-tokens', '2', '--json');
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout) as DecodeResult;
  const [greedy] = transduce({
    model,
    sources: [[97, 98]],
    strategy: { type: 'greedy' },
    maxTargetLength: 2,
  });
  assert.equal(result.task, 'transduce');
  assert.equal(result.paramVersion, file.version);
  assert.deepEqual(result.tokens, greedy![0]!.tokens);
  assert.equal(result.hypotheses!.length, 1);
  assert.ok(Math.abs(result.logProb! - greedy![0]!.logProb) <= 1e-5);

  const tooLong = await decodeTransduce('--source', 'abcdeabcde');
  assert.equal(tooLong.code, 2);
  assert.match(
    tooLong.stderr,
    /error \(invalid_request\): .*over seq2seq\.maxSourceLength = 6 \(fix: /,
  );

  const both = await decodeTransduce('--source', 'ab', '--source-ids', '1');
  assert.equal(both.code, 1);
  assert.match(both.stderr, /give the source as --source TEXT or --source-ids/);
  const nBestGreedy = await decodeTransduce('--source', 'ab', '--n-best', '2');
  assert.equal(nBestGreedy.code, 1);
  assert.match(nBestGreedy.stderr, /--n-best needs a beam: add --beam-width K/);
});
