import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interleave, runOnEvents } from '../../support/run-helpers.js';

test('tag: the summary reports precision, recall, F1 and support per label, consistent with macro-F1', async () => {
  const labels = ['even', 'odd', 'seven'];
  const perKey = Array.from({ length: 3 }, (_, k) =>
    Array.from({ length: 40 }, (_, t) => {
      const token = (t + k) % 8;
      return {
        key: `s${k}`,
        token,
        label: token === 7 ? 'seven' : token % 2 === 0 ? 'even' : 'odd',
      };
    }),
  );
  const { summary } = await runOnEvents({
    name: 'per-class',
    config: {
      task: { type: 'tag', labels },
      input: { tokenizer: 'ids', vocabSize: 8 },
      model: { cell: 'gru', hidden: 8, embedding: 4 },
      tbptt: { k1: 4, k2: 4, maxKeys: 3 },
    },
    events: interleave(perKey),
  });
  const perClass = summary.metrics.perClass!;
  assert.deepEqual(Object.keys(perClass).sort(), labels, 'one row per label, keyed as written');
  // Support counts events by their true label: tokens 0..7 cycle, so per 8 events 4 even, 3 odd, 1 seven.
  const events = 3 * 40;
  assert.equal(perClass.even!.support, events / 2);
  assert.equal(perClass.odd!.support, (events * 3) / 8);
  assert.equal(perClass.seven!.support, events / 8);
  for (const [label, row] of Object.entries(perClass)) {
    for (const v of [row.precision, row.recall, row.f1])
      assert.ok(v >= 0 && v <= 1, `${label}: ${JSON.stringify(row)}`);
    if (row.precision + row.recall > 0) {
      const f1 = (2 * row.precision * row.recall) / (row.precision + row.recall);
      assert.ok(Math.abs(row.f1 - f1) < 1e-12, `${label}: F1 is the harmonic mean`);
    }
  }
  const meanF1 =
    Object.values(perClass).reduce((s, r) => s + r.f1, 0) / Object.keys(perClass).length;
  assert.ok(Math.abs(meanF1 - summary.metrics.macroF1!) < 1e-12, 'macro-F1 is the mean F1');
  // The field survives the JSON the CLI prints.
  assert.deepEqual(JSON.parse(JSON.stringify(summary)).metrics.perClass, perClass);
});
