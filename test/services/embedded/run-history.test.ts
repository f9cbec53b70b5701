import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../../shared/config/index.js';
import { selectBackend } from '../../../shared/engine/select-backend.js';
import { runEmbedded } from '../../../services/embedded/run-embedded.js';
import { interleave, memoryLogger, tempDir } from '../../support/run-helpers.js';

async function run(config: unknown, events: object[]) {
  const dir = await tempDir('history');
  const input = join(dir, 'events.jsonl');
  const outputPath = join(dir, 'predictions.jsonl');
  await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await selectBackend({ requested: 'auto' });
  const result = await runEmbedded({
    config: parseConfig(config, { source: 'history' }),
    inputPaths: [input],
    inputFormat: 'jsonl',
    outputPath,
    logger: memoryLogger().logger,
  });
  result.learner.dispose();
  const predictions = (await readFile(outputPath, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { bits?: number; label?: unknown; actual?: unknown });
  return { ...result, predictions };
}

const close = (a: number | null, b: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('lm: each learning-curve point is the bits per token of the predictions up to it, and the last is the summary', async () => {
  const perKey = Array.from({ length: 3 }, (_, k) =>
    Array.from({ length: 300 }, (_, t) => ({ key: `k${k}`, token: (t * (k + 2)) % 7 })),
  );
  const { summary, history, predictions } = await run(
    {
      input: { tokenizer: 'ids', vocabSize: 7 },
      model: { cell: 'gru', hidden: 8, embedding: 4 },
      tbptt: { k1: 4, k2: 4 },
    },
    interleave(perKey),
  );
  assert.equal(history.metric, 'bitsPerToken');
  const curve = history.learningCurve;
  assert.ok(curve.length > 100, `${curve.length} points`);
  for (const point of curve) {
    const seen = predictions.slice(0, point.events);
    const bits = seen.reduce((s, p) => s + p.bits!, 0) / seen.length;
    close(point.value, bits, `bits per token after ${point.events} events`);
    close(point.baseline, Math.log2(7), 'uniform baseline');
  }
  const last = curve.at(-1)!;
  assert.equal(last.events, summary.events);
  assert.equal(last.value, summary.metrics.bitsPerToken);
  assert.equal(last.recent, summary.recent.bitsPerToken);
  // Throughput: cumulative events over time, ending on the summary's totals.
  const points = history.throughput;
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i]!.seconds >= points[i - 1]!.seconds, 'time goes forward');
    assert.ok(points[i]!.events >= points[i - 1]!.events, 'events only grow');
  }
  assert.deepEqual(points.at(-1), { seconds: summary.seconds, events: summary.events });
});

test('classify: the learning curve is the accuracy so far against the majority-class accuracy so far', async () => {
  // Sequences of 3 tokens; the class at eos is "a" twice as often as "b".
  const events = Array.from({ length: 240 }, (_, i) => {
    const sequence = Math.floor(i / 3);
    const eos = i % 3 === 2;
    return {
      key: `s${sequence % 5}`,
      token: (sequence % 3 === 2 ? 5 : 1) + (i % 3),
      ...(eos ? { eos: true, label: sequence % 3 === 2 ? 'b' : 'a' } : {}),
    };
  });
  const { summary, history, predictions } = await run(
    {
      task: { type: 'classify', labels: ['a', 'b'] },
      input: { tokenizer: 'ids', vocabSize: 8 },
      model: { cell: 'gru', hidden: 8, embedding: 4 },
      tbptt: { k1: 3, k2: 3 },
    },
    events,
  );
  assert.equal(history.metric, 'accuracy');
  for (const point of history.learningCurve) {
    const scored = predictions.slice(0, point.events).filter((p) => p.actual !== undefined);
    if (scored.length === 0) {
      assert.equal(point.value, null, 'no accuracy before the first labelled event');
      continue;
    }
    const correct = scored.filter((p) => p.label === p.actual).length;
    close(point.value, correct / scored.length, `accuracy after ${point.events} events`);
    const counts = new Map<unknown, number>();
    let majorityRight = 0;
    for (const p of scored) {
      // The baseline predicts the most frequent class seen before this event.
      const best = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
      if (best === p.actual) majorityRight++;
      counts.set(p.actual, (counts.get(p.actual) ?? 0) + 1);
    }
    close(point.baseline, majorityRight / scored.length, `majority after ${point.events} events`);
  }
  assert.equal(history.learningCurve.at(-1)!.value, summary.metrics.accuracy);
  assert.equal(history.learningCurve.at(-1)!.baseline, summary.baselines.accuracy);
});
