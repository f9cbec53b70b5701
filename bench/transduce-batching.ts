/**
 * What the decoder's batching of transduce requests saves (BENCHMARKS.md, "Decoder: batched
 * transduce"): one `transduce()` call for N sources — what a batch of N transduce requests that
 * decode alike runs — against N calls of one source each, greedy and beam (width 4, n-best 4),
 * on a seq2seq model of the default widths' order (GRU 128, embedding 64, attention 64; random
 * parameters: the cost does not depend on their values, only the hypotheses' lengths do).
 *
 *   npm run build
 *   node dist/bench/transduce-batching.js [--backend tensorflow] [--sources 32]
 *
 * Each figure is the second of two runs (the first warms TensorFlow's kernels for each shape).
 */
import { parseConfig, seq2seqSpecFromConfig } from '../shared/config/index.js';
import { transduce, type TransductionStrategy } from '../shared/decoding/transduce.js';
import { selectBackend } from '../shared/engine/select-backend.js';
import { createLogger } from '../shared/logging/index.js';
import { createRng } from '../shared/model/random.js';
import { Seq2seqModel } from '../shared/model/seq2seq/seq2seq-model.js';

import { benchArgs, positiveNumber } from './bench-args.js';

const args = benchArgs({ backend: 'tensorflow', sources: '32' });
const count = positiveNumber('sources', args.sources, '32');
const backend = args.backend as 'tensorflow' | 'wasm' | 'cpu';
await selectBackend({ requested: backend, logger: createLogger({ name: 'bench', level: 'warn' }) });
const config = parseConfig(
  {
    app: 'transduce-batching',
    task: { type: 'seq2seq' },
    input: { tokenizer: 'ids', vocabSize: 64 },
    model: { cell: 'gru', hidden: 128, embedding: 64 },
    seq2seq: { attentionSize: 64, maxTargetLength: 16 },
  },
  { source: 'transduce-batching' },
);
const model = Seq2seqModel.create({ spec: seq2seqSpecFromConfig(config), seed: 3 });
const rng = createRng(1);
const sources = Array.from({ length: count }, () =>
  Array.from({ length: 8 + Math.floor(rng.uniform() * 9) }, () => Math.floor(rng.uniform() * 64)),
);
const secondRunMs = (run: () => void): number => {
  run();
  const started = performance.now();
  run();
  return performance.now() - started;
};
const strategies: Array<[string, TransductionStrategy]> = [
  ['greedy', { type: 'greedy' }],
  ['beam 4, n-best 4', { type: 'beam', beamWidth: 4, lengthPenalty: 0.6, nBest: 4 }],
];
for (const [name, strategy] of strategies) {
  const decode = (batch: number[][]) =>
    transduce({ model, sources: batch, strategy, maxTargetLength: 16 });
  const batched = secondRunMs(() => decode(sources));
  const oneByOne = secondRunMs(() => sources.forEach((source) => decode([source])));
  const perSecond = (ms: number) => ((count / ms) * 1000).toFixed(0);
  process.stdout.write(
    `${backend} ${name}: ${count} sources in one call ${batched.toFixed(0)} ms (${perSecond(batched)}/s), one by one ${oneByOne.toFixed(0)} ms (${perSecond(oneByOne)}/s): ${(oneByOne / batched).toFixed(1)}x\n`,
  );
}
model.dispose();
