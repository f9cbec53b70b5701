/**
 * generateBatch(): greedy, sampled and beam jobs of different prompts, lengths and stop tokens
 * advance together, one predictStep per time step, and each job gets exactly what generate() or
 * beamSearch() gives it alone; streaming, deadlines and checks work per job.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateBatch,
  type GenerationJob,
  type GenerationOutcome,
} from '../../../shared/decoding/batch-generation.js';
import { beamSearch, type BeamHypothesis } from '../../../shared/decoding/beam-search.js';
import { generate } from '../../../shared/decoding/generate.js';
import { primeState } from '../../../shared/decoding/prime.js';
import { filteredDistribution } from '../../../shared/decoding/sampling.js';
import type { StepModel } from '../../../shared/decoding/step-model.js';
import { createRng } from '../../../shared/model/random.js';
import {
  randomLstmModel,
  sum,
  TableModel,
  useCpu,
  type BigramTable,
} from './decoding-test-helpers.js';

before(useCpu);

/** A seeded bigram table over V tokens (row V is BOS) with a few zero entries. */
function randomTable(seed: number, V: number): BigramTable {
  const rng = createRng(seed);
  return Array.from({ length: V + 1 }, () => {
    const row = Array.from({ length: V }, () => (rng.uniform() < 0.15 ? 0 : rng.uniform() ** 2));
    row[Math.floor(rng.uniform() * V)]! += 0.05; // never an all-zero row
    const z = row.reduce((a, b) => a + b, 0);
    return row.map((p) => p / z);
  });
}

/** What generate() / beamSearch() return for the job run on its own. */
function alone(
  model: StepModel,
  job: GenerationJob,
): { tokens: number[]; logProb: number; finishReason: string; hypotheses?: BeamHypothesis[] } {
  const { prompt, state, maxTokens, stopTokens, strategy } = job;
  if (strategy.kind === 'beam') {
    assert.ok(stopTokens.length <= 1, 'beamSearch takes one end token');
    const { best, hypotheses } = beamSearch({
      model,
      prompt,
      state,
      maxTokens,
      beamWidth: strategy.width,
      lengthPenalty: strategy.lengthPenalty,
      eosToken: stopTokens[0],
    });
    return {
      tokens: best.tokens,
      logProb: best.logProb,
      finishReason: best.finished ? 'stop' : 'length',
      hypotheses,
    };
  }
  return generate({ model, prompt, state, maxTokens, stopAt: stopTokens, strategy });
}

/** Greedy, sampled and beam jobs with prompts of 0 to 5 tokens, 0 to 12 tokens, with and without stops. */
function mixedJobs(V: number, continuation?: (prompt: number[]) => Float32Array): GenerationJob[] {
  const rng = createRng(99);
  const strategies: GenerationJob['strategy'][] = [
    { kind: 'greedy' },
    { kind: 'sample', temperature: 1, seed: 1 },
    { kind: 'sample', temperature: 0.7, topK: 3, seed: 2 },
    { kind: 'sample', temperature: 1.3, topP: 0.8, seed: 3 },
    { kind: 'beam', width: 1 },
    { kind: 'beam', width: 3 },
    { kind: 'beam', width: 2, lengthPenalty: 0.6 },
  ];
  const jobs: GenerationJob[] = [];
  strategies.forEach((strategy, s) => {
    for (let variant = 0; variant < 3; variant++) {
      const prompt = Array.from({ length: (s + 2 * variant) % 6 }, () =>
        Math.floor(rng.uniform() * V),
      );
      const fromState = continuation !== undefined && variant === 2 && prompt.length > 1;
      jobs.push({
        prompt: fromState ? prompt.slice(1) : prompt,
        state: fromState ? continuation(prompt.slice(0, 1)) : undefined,
        maxTokens: [0, 1, 5, 12][(s + variant) % 4]!,
        stopTokens: variant === 1 ? [] : [(s + variant) % V],
        strategy,
      });
    }
  });
  return jobs;
}

function assertSameAsAlone(
  model: StepModel,
  jobs: readonly GenerationJob[],
  outcomes: readonly GenerationOutcome[],
  tolerance: number,
): void {
  jobs.forEach((job, i) => {
    const single = alone(model, job);
    const what = `job ${i} (${job.strategy.kind}, prompt [${job.prompt}], max ${job.maxTokens})`;
    const got = outcomes[i]!;
    assert.deepEqual(got.tokens, single.tokens, what);
    assert.equal(got.finishReason, single.finishReason, what);
    if (tolerance === 0) assert.equal(got.logProb, single.logProb, what);
    else assert.ok(Math.abs(got.logProb - single.logProb) <= tolerance, `${what}: log-prob`);
    assert.ok(Math.abs(sum(got.tokenLogProbs) - got.logProb) < 1e-9, `${what}: per-token sum`);
    if (single.hypotheses) {
      assert.deepEqual(
        got.hypotheses!.map((h) => h.tokens),
        single.hypotheses.map((h) => h.tokens),
        `${what}: hypotheses`,
      );
    }
  });
}

test('a mixed batch of greedy, sampled and beam jobs gives each job exactly what generate() and beamSearch() give it alone', () => {
  const table = randomTable(5, 6);
  const model = new TableModel(table);
  // A continuation state of the table model is its last input token.
  const jobs = mixedJobs(6, (before) => Float32Array.of(before.at(-1)!));
  assert.ok(jobs.some((j) => j.state !== undefined) && jobs.some((j) => j.prompt.length === 0));
  const outcomes = generateBatch({ model, jobs });
  assert.equal(outcomes.length, jobs.length);
  assertSameAsAlone(new TableModel(table), jobs, outcomes, 0);
  assert.ok(outcomes.some((o) => o.finishReason === 'stop'));
  assert.ok(outcomes.some((o) => o.finishReason === 'length' && o.tokens.length > 0));
});

test('the batch costs one predictStep per time step of its longest job, with every row of every job in it', () => {
  const table = randomTable(6, 5);
  const jobs = mixedJobs(5);
  const batched = new TableModel(table);
  generateBatch({ model: batched, jobs });
  const single = jobs.map((job) => {
    const m = new TableModel(table);
    alone(m, job);
    return m.batchSizes;
  });
  assert.equal(batched.batchSizes.length, Math.max(...single.map((s) => s.length)));
  assert.equal(sum(batched.batchSizes), sum(single.map(sum)), 'the same rows in total');
  assert.ok(batched.batchSizes[0]! > 1, 'the first step carries many jobs');
});

test('on a real LSTM the batched tokens equal the single-job tokens and log-probs agree within 1e-5', () => {
  const model = randomLstmModel(51);
  try {
    const jobs = mixedJobs(7, (before) => primeState({ model, tokens: before }).state);
    const outcomes = generateBatch({ model, jobs });
    assertSameAsAlone(model, jobs, outcomes, 1e-5);
    jobs.forEach((job, i) => {
      const primed = primeState({ model, tokens: job.prompt, state: job.state });
      const { startState, nextDistribution } = outcomes[i]!;
      startState!.forEach((v, k) => assert.ok(Math.abs(v - primed.state[k]!) < 1e-5));
      nextDistribution!.forEach((p, k) => assert.ok(Math.abs(p - primed.probs[k]!) < 1e-5));
    });
  } finally {
    model.dispose();
  }
});

test('beam width 1 in a batch returns the greedy sequence of the same batch', () => {
  const model = randomLstmModel(52);
  try {
    const jobs: GenerationJob[] = [[], [3], [1, 4, 4, 0]].flatMap((prompt) =>
      [{ kind: 'greedy' } as const, { kind: 'beam', width: 1 } as const].map((strategy) => ({
        prompt,
        maxTokens: 12,
        stopTokens: [2],
        strategy,
      })),
    );
    const outcomes = generateBatch({ model, jobs });
    for (let i = 0; i < jobs.length; i += 2) {
      assert.deepEqual(outcomes[i + 1]!.tokens, outcomes[i]!.tokens, `prompt [${jobs[i]!.prompt}]`);
      assert.equal(outcomes[i + 1]!.finishReason, outcomes[i]!.finishReason);
      assert.ok(Math.abs(outcomes[i + 1]!.logProb - outcomes[i]!.logProb) < 1e-6);
    }
  } finally {
    model.dispose();
  }
});

test('beam width 2 finds the sequence an exhaustive search finds on a model with known probabilities, where greedy does not', () => {
  // Greedy: 0 (0.5), 0 (0.35), 0 (0.35) = 0.061. Best: 1 (0.45), 2 (0.9), 2 (0.8) = 0.324.
  const table: BigramTable = [
    [0.35, 0.35, 0.3],
    [0.05, 0.05, 0.9],
    [0.1, 0.1, 0.8],
    [0.5, 0.45, 0.05], // BOS
  ];
  const length = 3;
  // Exhaustive search straight on the table: every sequence of `length` tokens after BOS.
  let best = { tokens: [] as number[], p: -1 };
  const visit = (tokens: number[], p: number): void => {
    if (tokens.length === length) {
      if (p > best.p) best = { tokens, p };
      return;
    }
    const row = table[tokens.length === 0 ? 3 : tokens.at(-1)!]!;
    row.forEach((q, next) => visit([...tokens, next], p * q));
  };
  visit([], 1);
  assert.deepEqual(best.tokens, [1, 2, 2]);

  const model = new TableModel(table);
  const job = { prompt: [], maxTokens: length, stopTokens: [] };
  const [greedyRun, beamRun] = generateBatch({
    model,
    jobs: [
      { ...job, strategy: { kind: 'greedy' } },
      { ...job, strategy: { kind: 'beam', width: 2 } },
    ],
  });
  assert.notDeepEqual(greedyRun!.tokens, best.tokens);
  assert.deepEqual(beamRun!.tokens, best.tokens);
  assert.ok(Math.abs(beamRun!.logProb - Math.log(best.p)) < 1e-6);
  assert.deepEqual(
    beamSearch({ model, prompt: [], beamWidth: 2, maxTokens: length }).best.tokens,
    best.tokens,
  );
});

test('seeded sampling in a batch is reproducible and does not depend on the other jobs', () => {
  const model = randomLstmModel(53);
  try {
    const sampled = (seed: number): GenerationJob => ({
      prompt: [2, 5],
      maxTokens: 20,
      stopTokens: [],
      strategy: { kind: 'sample', temperature: 1, seed },
    });
    const first = generateBatch({ model, jobs: [sampled(5), sampled(6)] });
    const again = generateBatch({
      model,
      jobs: [
        { prompt: [1], maxTokens: 7, stopTokens: [], strategy: { kind: 'greedy' } },
        sampled(5),
      ],
    });
    assert.deepEqual(again[1]!.tokens, first[0]!.tokens);
    assert.notDeepEqual(first[1]!.tokens, first[0]!.tokens);
  } finally {
    model.dispose();
  }
});

test('top-k and top-p jobs in a batch never emit a token outside the allowed set, over thousands of draws', () => {
  const V = 8;
  const table = randomTable(7, V);
  const model = new TableModel(table);
  const filters = [
    { temperature: 1, topK: 2 },
    { temperature: 1.5, topP: 0.5 },
    { temperature: 0.8, topK: 3, topP: 0.7 },
    { temperature: 2, topK: 1 },
  ];
  const jobs: GenerationJob[] = Array.from({ length: 40 }, (_, i) => ({
    prompt: i % 3 === 0 ? [] : [i % V],
    maxTokens: 60,
    stopTokens: [],
    strategy: { kind: 'sample', seed: 1000 + i, ...filters[i % filters.length]! },
  }));
  const outcomes = generateBatch({ model, jobs });
  let draws = 0;
  const reached = filters.map(() => new Set<string>());
  outcomes.forEach((outcome, i) => {
    const filter = filters[i % filters.length]!;
    let previous = jobs[i]!.prompt.at(-1) ?? V; // BOS row after an empty prompt
    for (const token of outcome.tokens) {
      const allowed = filteredDistribution(table[previous]!, filter);
      assert.ok(
        allowed[token]! > 0,
        `job ${i}: ${token} after ${previous} is outside the kept set`,
      );
      reached[i % filters.length]!.add(`${previous}>${token}`);
      previous = token;
      draws++;
    }
  });
  assert.equal(draws, 40 * 60);
  assert.ok(reached[0]!.size > V, 'top-2 reaches both kept tokens after several contexts');
});

test('streaming hands over every token once, in order: greedy and sampled jobs per step, beam jobs at the end', () => {
  const model = new TableModel(randomTable(8, 6));
  const streamed: Array<{ tokens: number[]; logProbs: number[]; at: number }[]> = [[], [], []];
  const strategies: GenerationJob['strategy'][] = [
    { kind: 'greedy' },
    { kind: 'sample', temperature: 1, seed: 4 },
    { kind: 'beam', width: 3 },
  ];
  const jobs = strategies.map((strategy, i) => ({
    prompt: [1],
    maxTokens: 8,
    stopTokens: [],
    strategy,
    onTokens: (tokens: number[], logProbs: number[]) =>
      streamed[i]!.push({ tokens, logProbs, at: model.batchSizes.length }),
  }));
  const outcomes = generateBatch({ model, jobs });
  outcomes.forEach((outcome, i) => {
    assert.deepEqual(
      streamed[i]!.flatMap((s) => s.tokens),
      outcome.tokens,
    );
    assert.deepEqual(
      streamed[i]!.flatMap((s) => s.logProbs),
      outcome.tokenLogProbs,
    );
  });
  assert.equal(streamed[0]!.length, 8, 'one call per greedy token');
  assert.deepEqual(
    streamed[0]!.map((s) => s.at),
    [2, 3, 4, 5, 6, 7, 8, 9],
    'each token as soon as its step is done (BOS and the prompt token come first)',
  );
  assert.equal(streamed[2]!.length, 1, 'the beam job reports once');
});

test('an expired job ends with what it has while the others go on', () => {
  const table = randomTable(9, 5);
  const model = new TableModel(table);
  let steps = 0;
  const base = { prompt: [2], maxTokens: 10, stopTokens: [] };
  const outcomes = generateBatch({
    model: {
      spec: model.spec,
      stateSize: model.stateSize,
      predictStep: (input) => {
        steps++;
        return model.predictStep(input);
      },
    },
    jobs: [
      { ...base, strategy: { kind: 'greedy' }, expired: () => steps >= 4 },
      { ...base, strategy: { kind: 'beam', width: 2 }, expired: () => steps >= 5 },
      { ...base, strategy: { kind: 'greedy' }, expired: () => steps >= 1 },
      { ...base, strategy: { kind: 'greedy' } },
    ],
  });
  const [greedyCut, beamCut, primingCut, full] = outcomes;
  assert.equal(greedyCut!.finishReason, 'expired');
  // Steps 1-2 fed BOS and the prompt; after steps 3 and 4 two more tokens had their distributions.
  assert.deepEqual(greedyCut!.tokens, full!.tokens.slice(0, 3));
  assert.equal(beamCut!.finishReason, 'expired');
  assert.equal(beamCut!.tokens.length, 3, 'the best live beam so far');
  assert.deepEqual(
    { tokens: primingCut!.tokens, start: primingCut!.startState, reason: primingCut!.finishReason },
    { tokens: [], start: undefined, reason: 'expired' },
  );
  assert.equal(full!.finishReason, 'length');
  assert.equal(full!.tokens.length, 10);
  const unfinished = alone(new TableModel(table), { ...base, strategy: { kind: 'greedy' } });
  assert.deepEqual(full!.tokens, unfinished.tokens);
});

test('a key state with its distribution and an empty prompt continues from that distribution', () => {
  const model = randomLstmModel(54);
  try {
    const primed = primeState({ model, tokens: [3, 1, 4] });
    const [continued] = generateBatch({
      model,
      jobs: [
        {
          prompt: [],
          state: primed.state,
          probs: primed.probs,
          maxTokens: 6,
          stopTokens: [],
          strategy: { kind: 'greedy' },
        },
      ],
    });
    const fresh = generate({
      model,
      prompt: [3, 1, 4],
      maxTokens: 6,
      strategy: { kind: 'greedy' },
    });
    assert.deepEqual(continued!.tokens, fresh.tokens);
    assert.deepEqual(continued!.startState, primed.state);
  } finally {
    model.dispose();
  }
});

test('bad jobs are refused with their index, the value and the fix before any model step', () => {
  const model = new TableModel(randomTable(10, 4));
  const good: GenerationJob = {
    prompt: [1],
    maxTokens: 3,
    stopTokens: [],
    strategy: { kind: 'greedy' },
  };
  const refuse = (bad: Partial<GenerationJob> | Record<string, unknown>, message: RegExp): void =>
    assert.throws(
      () => generateBatch({ model, jobs: [good, { ...good, ...bad } as GenerationJob] }),
      { name: 'RangeError', message },
    );
  refuse({ maxTokens: -1 }, /^jobs\[1\]: maxTokens = -1: must be an integer ≥ 0 \(fix: /);
  refuse({ stopTokens: [4] }, /^jobs\[1\]: stopTokens\[0\] = 4: not a token id in \[0, 4\)/);
  refuse({ prompt: [0, 9] }, /^jobs\[1\]: prompt\[1\] = 9/);
  refuse(
    { state: new Float32Array(3) },
    /^jobs\[1\]: state has 3 values but the model's state size is 1/,
  );
  refuse({ prompt: [], state: new Float32Array(1) }, /^jobs\[1\]: nothing to feed/);
  refuse(
    { strategy: { kind: 'sample', temperature: -1, seed: 1 } },
    /^jobs\[1\]: temperature = -1: must be a finite number ≥ 0 \(fix: /,
  );
  refuse(
    { strategy: { kind: 'sample', temperature: 1, topK: 0, seed: 1 } },
    /^jobs\[1\]: topK = 0/,
  );
  refuse({ strategy: { kind: 'sample', temperature: 1, seed: 0.5 } }, /^jobs\[1\]: seed = 0\.5/);
  refuse(
    { strategy: { kind: 'beam', width: 0 } },
    /^jobs\[1\]: strategy\.width = 0: must be an integer ≥ 1/,
  );
  refuse(
    { strategy: { kind: 'beam', width: 2, lengthPenalty: Infinity } },
    /^jobs\[1\]: strategy\.lengthPenalty = Infinity: must be a finite number/,
  );
  refuse(
    { strategy: { kind: 'nucleus' } },
    /^jobs\[1\]: strategy\.kind = "nucleus": unknown decoding strategy \(fix: use 'greedy', 'sample' or 'beam'\)/,
  );
  refuse({ onTokens: 'yes' }, /^jobs\[1\]: onTokens = yes: must be a function/);
  assert.deepEqual(model.batchSizes, []);
  assert.deepEqual(generateBatch({ model, jobs: [] }), []);
});
