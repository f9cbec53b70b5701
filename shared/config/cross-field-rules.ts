import type { z } from 'zod';

import { renderValue } from '../errors/render-value.js';
import { type ConfigPath, formatPath, isGiven } from './config-path.js';
import type { ConfigSchema } from './config-schema.js';
import { checkConvRules } from './conv-rules.js';
import type { ConfigProblem } from './format-issues.js';
import { compileWordPattern } from '../vocabulary/word-splitter.js';

type Parsed = z.output<typeof ConfigSchema>;

/** A problem that depends on several keys; `involves` lists them all (the first is `path`). */
export interface CrossFieldProblem extends ConfigProblem {
  readonly involves: readonly ConfigPath[];
}

/**
 * Rules that no single key can check. Values that took their default are marked "(default)"
 * in messages, because the fix may be to set that key rather than to change the one the user wrote.
 */
export function checkCrossFieldRules(config: Parsed, raw: unknown): CrossFieldProblem[] {
  const problems: CrossFieldProblem[] = [];
  const show = (path: ConfigPath, value: unknown) =>
    `${formatPath(path)} = ${renderValue(value)}${isGiven(raw, path) ? '' : ' (default)'}`;
  const add = (involves: ConfigPath[], message: string) =>
    problems.push({ path: involves[0] ?? [], involves, message });

  const { k1, k2 } = config.tbptt;
  if (k2 < k1) {
    add(
      [
        ['tbptt', 'k2'],
        ['tbptt', 'k1'],
      ],
      `${show(['tbptt', 'k2'], k2)} is smaller than ${show(['tbptt', 'k1'], k1)}: ` +
        `the loss of the last k1 steps is back-propagated through a window of k2 >= k1 steps ` +
        `(fix: set tbptt.k2 to at least ${k1}, e.g. ${2 * k1} for overlapping windows, or lower tbptt.k1)`,
    );
  }

  const { type } = config.task;
  const { kind, tokenizer, vocabSize } = config.input;
  // seq2seq: the encoder reads a whole source, so it may read it both ways.
  if (config.model.bidirectional && type !== 'tag' && type !== 'classify' && type !== 'seq2seq') {
    add(
      [
        ['model', 'bidirectional'],
        ['task', 'type'],
      ],
      `${show(['model', 'bidirectional'], true)} but ${show(['task', 'type'], type)} predicts ` +
        `each step before the next one arrives, and a backward direction needs the steps after it ` +
        `(fix: set model.bidirectional to false, or use task.type "tag" or "classify" on segments closed by eos, or "seq2seq" on pairs)`,
    );
  }
  if (type === 'forecast' && kind !== 'features') {
    add(
      [
        ['input', 'kind'],
        ['task', 'type'],
      ],
      `${show(['input', 'kind'], kind)} but ${show(['task', 'type'], type)} predicts the next ` +
        `feature vector, so it needs numeric features as input ` +
        `(fix: set input.kind to "features" and input.featureSize to the length of your feature vectors)`,
    );
  }
  if (type === 'lm' && kind !== 'tokens') {
    add(
      [
        ['input', 'kind'],
        ['task', 'type'],
      ],
      `${show(['input', 'kind'], kind)} but ${show(['task', 'type'], type)} predicts the next ` +
        `token, so it needs tokens as input ` +
        `(fix: set input.kind to "tokens", or use task.type "forecast" for numeric features)`,
    );
  }
  if (type === 'seq2seq' && kind !== 'tokens') {
    add(
      [
        ['input', 'kind'],
        ['task', 'type'],
      ],
      `${show(['input', 'kind'], kind)} but ${show(['task', 'type'], type)} reads and writes ` +
        `token sequences ("source" and "target" of each pair event) ` +
        `(fix: set input.kind to "tokens")`,
    );
  }
  if (type === 'seq2seq' && tokenizer === 'words') {
    // The words vocabulary grows online and is owned by the paramserver for one embedding table;
    // a pair model has two (source and target), which that protocol does not cover.
    add(
      [
        ['input', 'tokenizer'],
        ['task', 'type'],
      ],
      `${show(['input', 'tokenizer'], tokenizer)} but ${show(['task', 'type'], type)} has a source ` +
        `and a target vocabulary, which the online words vocabulary does not provide ` +
        `(fix: map words to ids with your own fixed vocabularies and set input.tokenizer to "ids", ` +
        `or use "bytes")`,
    );
  }
  const { targetVocabSize } = config.seq2seq;
  if (type === 'seq2seq' && tokenizer === 'bytes' && (targetVocabSize ?? 256) !== 256) {
    add(
      [
        ['seq2seq', 'targetVocabSize'],
        ['input', 'tokenizer'],
      ],
      `${show(['seq2seq', 'targetVocabSize'], targetVocabSize)} but ` +
        `${show(['input', 'tokenizer'], tokenizer)} makes targets bytes, 256 of them ` +
        `(fix: remove seq2seq.targetVocabSize, or set input.tokenizer to "ids")`,
    );
  }
  if (kind === 'tokens' && tokenizer === 'bytes' && vocabSize !== 256) {
    add(
      [
        ['input', 'vocabSize'],
        ['input', 'tokenizer'],
      ],
      `${show(['input', 'vocabSize'], vocabSize)} but ${show(['input', 'tokenizer'], tokenizer)} ` +
        `has exactly 256 tokens, one per byte value ` +
        `(fix: remove input.vocabSize or set it to 256, or set input.tokenizer to "ids" for integer token ids in [0, vocabSize))`,
    );
  }

  for (const [path, reason] of wordsInputProblems(config.input)) add([path], reason);

  const { horizon } = config.task;
  if (horizon !== 1 && type !== 'forecast') {
    add(
      [
        ['task', 'horizon'],
        ['task', 'type'],
      ],
      `${show(['task', 'horizon'], horizon)} but ${show(['task', 'type'], type)}: only a forecast ` +
        `predicts several steps ahead (fix: remove task.horizon, or set task.type to "forecast")`,
    );
  }
  if (type === 'forecast' && k2 >= k1 && k2 < k1 + horizon - 1) {
    // The target of (step t, horizon h) arrives h - 1 steps after t; the training step that sees
    // it arrive must still reach back to t, or that target would never be trained.
    add(
      [
        ['tbptt', 'k2'],
        ['tbptt', 'k1'],
        ['task', 'horizon'],
      ],
      `${show(['tbptt', 'k2'], k2)} is below ${show(['tbptt', 'k1'], k1)} + ${show(['task', 'horizon'], horizon)} - 1: ` +
        `a step's horizon-${horizon} target arrives ${horizon - 1} steps after it, so the window that trains it must reach that far back ` +
        `(fix: set tbptt.k2 to at least ${k1 + horizon - 1}, or lower task.horizon or tbptt.k1)`,
    );
  }

  const { labels, maxLabels } = config.task;
  if (labels !== undefined) {
    // 3 and "3" are different labels, so the type is part of the identity.
    const seen = new Set<string>();
    labels.forEach((label, index) => {
      const identity = `${typeof label}:${label}`;
      if (seen.has(identity)) {
        add(
          [['task', 'labels', index]],
          `${formatPath(['task', 'labels', index])} = ${renderValue(label)}: the label is declared twice, ` +
            `so two output classes would mean the same thing (fix: remove the duplicate)`,
        );
      }
      seen.add(identity);
    });
    if (labels.length > maxLabels) {
      add(
        [
          ['task', 'labels'],
          ['task', 'maxLabels'],
        ],
        `task.labels declares ${labels.length} labels, more than ${show(['task', 'maxLabels'], maxLabels)} ` +
          `(fix: raise task.maxLabels to at least ${labels.length}, or declare fewer labels)`,
      );
    }
  }
  const { featureSize } = config.input;
  const { maxFeatures, maxLabelValues } = config.limits;
  if (kind === 'features' && featureSize > maxFeatures) {
    add(
      [
        ['input', 'featureSize'],
        ['limits', 'maxFeatures'],
      ],
      `${show(['input', 'featureSize'], featureSize)} is above ${show(['limits', 'maxFeatures'], maxFeatures)}, ` +
        `so every event would be refused (fix: raise limits.maxFeatures to at least ${featureSize})`,
    );
  }
  if (type === 'forecast' && featureSize > maxLabelValues) {
    add(
      [
        ['input', 'featureSize'],
        ['limits', 'maxLabelValues'],
      ],
      `${show(['input', 'featureSize'], featureSize)} is above ${show(['limits', 'maxLabelValues'], maxLabelValues)}, ` +
        `so no forecast target could be sent as a label (fix: raise limits.maxLabelValues to at least ${featureSize})`,
    );
  }
  checkConvRules(config, raw, show, add);
  const { learningRate, schedule } = config.optimizer;
  if (schedule.decay !== 'none' && schedule.minLearningRate > learningRate) {
    add(
      [
        ['optimizer', 'schedule', 'minLearningRate'],
        ['optimizer', 'learningRate'],
      ],
      `${show(['optimizer', 'schedule', 'minLearningRate'], schedule.minLearningRate)} is above ` +
        `${show(['optimizer', 'learningRate'], learningRate)}: a decay ends at minLearningRate, so it would raise the rate ` +
        `(fix: set optimizer.schedule.minLearningRate to at most ${learningRate}, e.g. ${learningRate / 10})`,
    );
  }
  return problems;
}

/** input.tokenizer "words" and its keys (shared/vocabulary): problems as (path, message). */
function wordsInputProblems(input: Parsed['input']): Array<[ConfigPath, string]> {
  const out: Array<[ConfigPath, string]> = [];
  if (input.tokenizer === 'words' && input.kind !== 'tokens')
    out.push([
      ['input', 'tokenizer'],
      `input.tokenizer = "words" but input.kind = "${input.kind}" (fix: set input.kind to "tokens")`,
    ]);
  if (input.tokenizer === 'words' && input.vocabSize < 2)
    out.push([
      ['input', 'vocabSize'],
      `input.vocabSize = ${input.vocabSize}: the words tokenizer reserves id 0 for out-of-vocabulary words, so it needs at least 2 (fix: set input.vocabSize to the most words to learn + 1)`,
    ]);
  if (input.tokenizer === 'words') {
    try {
      compileWordPattern(input.wordPattern);
    } catch (error) {
      out.push([['input', 'wordPattern'], (error as Error).message]);
    }
  }
  if (input.pretrained !== undefined && input.tokenizer !== 'words')
    out.push([
      ['input', 'pretrained'],
      `input.pretrained is set but input.tokenizer = "${input.tokenizer}": pretrained vectors belong to words (fix: set input.tokenizer to "words", or remove input.pretrained)`,
    ]);
  if (input.pretrained !== undefined && input.pretrained.seedWords >= input.vocabSize)
    out.push([
      ['input', 'pretrained', 'seedWords'],
      `input.pretrained.seedWords = ${input.pretrained.seedWords} leaves no room in input.vocabSize = ${input.vocabSize} (id 0 is out-of-vocabulary) (fix: set seedWords to at most ${input.vocabSize - 1})`,
    ]);
  return out;
}
