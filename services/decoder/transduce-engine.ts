/**
 * Computes one dynamic batch of transduce jobs on a seq2seq model: the jobs that decode alike
 * (greedy, or beam of one width and α, with one target bound) go through one `transduce` call —
 * which encodes every source together and advances every live beam of every source by one row
 * of one decoder step — and each job gets its n-best list. A group that fails answers each of its
 * jobs with an `internal` error; the other groups are unaffected.
 */
import type { DecodeResult, TransducedHypothesis } from '../../shared/codec/decode-codec.js';
import {
  transduce,
  type TransductionHypothesis,
  type TransductionModel,
} from '../../shared/decoding/transduce.js';
import type { Tokenizer } from '../../shared/events/tokenizer.js';
import { textOfTokens, type DecodeEngine, type EngineJob } from './decode-engine.js';
import type { DecodeItem } from './request-intake.js';
import type { TransduceWork } from './transduce-jobs.js';

export interface TransduceEngineOptions {
  readonly model: TransductionModel;
  /** input.tokenizer over the target vocabulary: a hypothesis's text. */
  readonly targetTokens: Tokenizer;
  readonly now: () => number;
}

/** The batch computation of a seq2seq decoder (what DecodeEngine is to a stream model). */
export function transduceEngine(o: TransduceEngineOptions): Pick<DecodeEngine, 'compute'> {
  return {
    // Every job's result, computed with the model's current parameters (`version`).
    compute: async (jobs, { version }) => computeBatch(o, jobs, version),
  };
}

function computeBatch(
  o: TransduceEngineOptions,
  jobs: readonly EngineJob[],
  version: number,
): Map<DecodeItem, DecodeResult> {
  const out = new Map<DecodeItem, DecodeResult>();
  for (const group of decodingGroups(jobs)) {
    const works = group.map((job) => job.work as TransduceWork);
    const { strategy, maxTargetLength } = works[0]!;
    try {
      const hypotheses = transduce({
        model: o.model,
        sources: works.map((w) => w.source),
        // One search serves every n-best of the group: a job keeps the first n of it.
        strategy:
          strategy.type === 'beam'
            ? { ...strategy, nBest: Math.max(...works.map(nBestOf)) }
            : strategy,
        maxTargetLength,
      });
      group.forEach((job, i) => {
        const found = hypotheses[i]!.slice(0, nBestOf(works[i]!));
        out.set(job.item, resultOf(o, job, found, version));
      });
    } catch (error) {
      // A fault no request check foresaw: the group's jobs answer with it, the decoder goes on.
      for (const job of group)
        out.set(job.item, {
          requestId: job.request.requestId,
          task: 'transduce',
          paramVersion: version,
          error: `the transduce computation failed: ${(error as Error).message}`,
          errorCode: 'internal',
          tsMs: o.now(),
        });
    }
  }
  return out;
}

/** The n-best list as a result; the best hypothesis also fills the generation fields. */
function resultOf(
  o: TransduceEngineOptions,
  job: EngineJob,
  found: readonly TransductionHypothesis[],
  version: number,
): DecodeResult {
  const hypotheses: TransducedHypothesis[] = found.map((h) => ({
    tokens: h.tokens,
    text: textOfTokens(h.tokens, o.targetTokens),
    tokenLogProbs: h.tokenLogProbs,
    logProb: h.logProb,
    score: h.score,
    finished: h.finished,
  }));
  const best = hypotheses[0]!;
  return {
    requestId: job.request.requestId,
    task: 'transduce',
    tokens: best.tokens,
    text: best.text,
    tokenLogProbs: best.tokenLogProbs,
    logProb: best.logProb,
    finishReason: best.finished ? 'stop' : 'length',
    hypotheses,
    paramVersion: version,
    tsMs: o.now(),
  };
}

function nBestOf(work: TransduceWork): number {
  return work.strategy.type === 'beam' ? (work.strategy.nBest ?? 1) : 1;
}

/** The jobs in groups that decode alike (same strategy but n-best, same target bound). */
function decodingGroups(jobs: readonly EngineJob[]): EngineJob[][] {
  const groups = new Map<string, EngineJob[]>();
  for (const job of jobs) {
    const { strategy, maxTargetLength } = job.work as TransduceWork;
    const key =
      strategy.type === 'beam'
        ? `beam ${strategy.beamWidth} ${strategy.lengthPenalty} ${maxTargetLength}`
        : `greedy ${maxTargetLength}`;
    const group = groups.get(key) ?? [];
    group.push(job);
    groups.set(key, group);
  }
  return [...groups.values()];
}
