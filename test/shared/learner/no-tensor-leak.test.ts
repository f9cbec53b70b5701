import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, parseConfig } from '../../../shared/config/index.js';
import { tf } from '../../../shared/engine/tf.js';
import { createLearner } from '../../../shared/learner/create-learner.js';
import { InProcessParameterService } from '../../../shared/learner/in-process-parameter-service.js';
import { parameterServerOptionsFromConfig } from '../../../shared/paramserver/parameter-server.js';
import { encodeEvent } from '../../../shared/learner/event-encoder.js';
import { availableBackends } from '../../support/backends.js';

for (const backend of await availableBackends(['cpu', 'tensorflow', 'wasm'])) {
  test(`[${backend}] live tensors return to their start value after 100 training steps`, async () => {
    await tf.setBackend(backend);
    const config = parseConfig(
      {
        ...defaultConfig(),
        model: { cell: 'lstm', hidden: 8, embedding: 4, dropout: 0.2, recurrentDropout: 0.2 },
        tbptt: { k1: 2, k2: 4, maxKeys: 4 },
      },
      { source: 'test' },
    );
    let steps = 0;
    const learner = createLearner({
      config,
      gradientSink: (model) =>
        new InProcessParameterService({ model, options: parameterServerOptionsFromConfig(config) }),
      onTrainStep: () => void steps++,
    });
    const { learner: streamLearner, normalizer } = learner.openKeySpace();
    const feed = async (from: number, count: number) => {
      const events = Array.from({ length: count }, (_, i) => ({
        key: `k${(from + i) % 4}`,
        token: (from + i) % 256,
        eos: (from + i) % 37 === 0,
      }));
      await streamLearner.process(
        events.map((event, i) =>
          encodeEvent({
            event,
            index: from + i,
            spec: learner.spec,
            tokens: learner.tokenizer,
            labels: learner.labels,
            normalizer,
          }),
        ),
      );
    };
    await feed(0, 16); // first steps create the optimizer's slots
    await streamLearner.flush();
    const start = tf.memory().numTensors;
    const before = steps;
    await feed(16, 800);
    await streamLearner.flush();
    assert.ok(steps - before >= 100, `ran ${steps - before} training steps`);
    assert.equal(tf.memory().numTensors, start);
    learner.dispose();
  });
}
