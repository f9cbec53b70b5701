/**
 * The decoder's executor: takes dynamic batches from the queue and answers them. Per batch it
 * puts the newest parameter version into the model (hot swap between batches: a batch is
 * computed with one version, named in each of its results), brings the state view of the keyed
 * requests' partitions up to the changelog's end, gives expired requests a timeout result,
 * computes the rest together (DecodeEngine), and commits each partition's answers with its
 * offsets (ResultOutbox). Items of partitions this decoder no longer owns are left to their new
 * owner.
 */
import type { DecodeErrorCode, DecodeResult } from '../../shared/codec/decode-codec.js';
import type { InputLimits } from '../../shared/events/input-limits.js';
import type { Logger } from '../../shared/logging/index.js';
import type { DecoderMetrics } from '../../shared/metrics/decoder-metrics.js';
import { deadLetterOf, type OutgoingRecord } from '../../shared/transport/kafka/index.js';
import { taskOf, type ServedTask } from './decode-jobs.js';
import type { DecodeEngine, EngineJob } from './decode-engine.js';
import type { DecodeItem } from './request-intake.js';
import type { RequestQueue } from './request-queue.js';
import type { PartitionAnswers, ResultOutbox } from './result-outbox.js';
import type { StateView } from './state-view.js';

export interface BatchExecutorOptions {
  readonly queue: RequestQueue<DecodeItem>;
  /** Computes a batch's jobs: DecodeEngine (stream models) or transduceEngine (seq2seq). */
  readonly engine: Pick<DecodeEngine, 'compute'>;
  readonly outbox: ResultOutbox;
  /** Absent when the model keeps no per-key state (seq2seq: keyed requests are refused). */
  readonly stateView: Pick<StateView, 'catchUp'> | undefined;
  /** Puts the newest published version into the model; returns the version in force. */
  readonly applyNewestParams: () => number;
  /** The served model's task (results name a request's task by it). */
  readonly spec: Pick<ServedTask, 'task'>;
  readonly limits: InputLimits;
  readonly stateWaitMs: number;
  /** Answer transactions failed: the requests must be read again (rejoin the group). */
  readonly onCommitFailed: () => void;
  readonly metrics: DecoderMetrics | undefined;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface ExecutorTotals {
  requests: number;
  errors: number;
  timeouts: number;
  deadLetters: number;
  batches: number;
  failedCommits: number;
}

export class BatchExecutor {
  private readonly o: BatchExecutorOptions;
  readonly totals: ExecutorTotals = {
    requests: 0,
    errors: 0,
    timeouts: 0,
    deadLetters: 0,
    batches: 0,
    failedCommits: 0,
  };

  constructor(options: BatchExecutorOptions) {
    this.o = options;
  }

  /** Answers batches until the queue is closed and empty. */
  async run(): Promise<void> {
    for (;;) {
      const batch = await this.o.queue.takeBatch();
      this.o.metrics?.queueDepth.set(this.o.queue.size);
      if (batch.length === 0) return;
      await this.answer(batch);
    }
  }

  private async answer(batch: readonly DecodeItem[]): Promise<void> {
    const { outbox, engine, metrics, now } = this.o;
    const items = batch.filter((item) => outbox.owns(item.partition));
    if (items.length === 0) return;
    const version = this.o.applyNewestParams();
    metrics?.paramVersion.set(version);
    const startedAt = performance.now();

    const results = new Map<DecodeItem, DecodeResult>();
    const deadLetters = new Map<DecodeItem, OutgoingRecord>();
    const jobs: EngineJob[] = [];
    const keyedPartitions = new Set<number>();
    for (const item of items) {
      const { outcome } = item;
      if (outcome.kind === 'deadLetter') deadLetters.set(item, this.deadLetter(item));
      else if (outcome.kind === 'rejected' || outcome.kind === 'oversized')
        results.set(
          item,
          this.errorResult(item, outcome.error.code, outcome.error.message, version),
        );
      else if (now() > outcome.deadlineMs)
        results.set(
          item,
          this.errorResult(
            item,
            'timeout',
            `request expired at ${new Date(outcome.deadlineMs).toISOString()} before it was computed (fix: give it a later deadline_ms, or add decoders / raise decoder.maxBatchSize if requests wait in the queue)`,
            version,
          ),
        );
      else {
        if (outcome.request.key !== undefined) keyedPartitions.add(item.partition);
        jobs.push({ item, request: outcome.request, work: outcome.work });
      }
    }

    if (keyedPartitions.size > 0) await this.catchUpState([...keyedPartitions]);
    const computeStarted = performance.now();
    const computed = await engine.compute(jobs, { version });
    const computeMs = performance.now() - computeStarted;
    metrics?.computeDuration.observe(computeMs / 1000);
    metrics?.batchSize.observe(jobs.length);
    for (const [item, result] of computed) {
      results.set(item, {
        ...result,
        timings: {
          receivedMs: item.receivedMs,
          queuedMs: startedAt - item.queuedAt,
          computeMs,
          batchSize: jobs.length,
        },
      });
    }

    const transactionStarted = performance.now();
    const failed = await outbox.commit(answersByPartition(items, results, deadLetters));
    metrics?.transactionDuration.observe((performance.now() - transactionStarted) / 1000);
    this.totals.batches++;
    if (failed.length > 0) {
      this.totals.failedCommits += failed.length;
      // A partition that moved away meanwhile is its new owner's; one still ours must be re-read.
      if (failed.some((p) => outbox.owns(p))) this.o.onCommitFailed();
    }
    this.count(items, results, deadLetters, new Set(failed));
  }

  /** Read-your-writes for keyed requests; on timeout the results say how fresh they are. */
  private async catchUpState(partitions: number[]): Promise<void> {
    try {
      await this.o.stateView?.catchUp(partitions, { timeoutInMs: this.o.stateWaitMs });
    } catch (error) {
      this.o.logger.warn(
        { err: error, partitions, stateWaitMs: this.o.stateWaitMs },
        "the state view did not reach the changelog's end in time: keyed results continue from the state read so far (their `state.changelog_offset` says which)",
      );
    }
  }

  private errorResult(
    item: DecodeItem,
    code: DecodeErrorCode,
    message: string,
    version: number,
  ): DecodeResult {
    const { outcome } = item;
    const request =
      outcome.kind === 'job' || outcome.kind === 'rejected' ? outcome.request : undefined;
    return {
      requestId: request?.requestId ?? (outcome.kind === 'oversized' ? outcome.requestId : ''),
      key: request?.key,
      task: request ? taskOf(request, this.o.spec) : undefined,
      paramVersion: version,
      error: message,
      errorCode: code,
      tsMs: this.o.now(),
      timings: {
        receivedMs: item.receivedMs,
        queuedMs: performance.now() - item.queuedAt,
        computeMs: 0,
        batchSize: 0,
      },
    };
  }

  private deadLetter({ record, outcome }: DecodeItem): OutgoingRecord {
    return deadLetterOf({
      record,
      error: outcome.kind === 'deadLetter' ? outcome.error : undefined,
      limits: this.o.limits,
      tsMs: this.o.now(),
    });
  }

  private count(
    items: readonly DecodeItem[],
    results: ReadonlyMap<DecodeItem, DecodeResult>,
    deadLetters: ReadonlyMap<DecodeItem, OutgoingRecord>,
    failed: ReadonlySet<number>,
  ): void {
    const { metrics, now } = this.o;
    const doneAt = performance.now();
    for (const item of items) {
      if (failed.has(item.partition)) continue;
      if (deadLetters.has(item)) {
        this.totals.deadLetters++;
        metrics?.deadLetters.inc();
        continue;
      }
      const result = results.get(item)!;
      const task = result.task ?? 'generate';
      this.totals.requests++;
      metrics?.requests.inc({ task });
      metrics?.requestDuration.observe({ task }, (doneAt - item.queuedAt) / 1000);
      const sentMs = item.outcome.kind === 'job' ? item.outcome.request.tsMs : undefined;
      if (sentMs) metrics?.endToEndDuration.observe({ task }, Math.max(0, now() - sentMs) / 1000);
      if (result.errorCode) {
        this.totals.errors++;
        metrics?.errors.inc({ reason: result.errorCode });
        if (result.errorCode === 'timeout') {
          this.totals.timeouts++;
          metrics?.timeouts.inc();
        }
      }
    }
  }
}

/** Each partition's results and dead letters in offset order, and its offset after the last. */
function answersByPartition(
  items: readonly DecodeItem[],
  results: ReadonlyMap<DecodeItem, DecodeResult>,
  deadLetters: ReadonlyMap<DecodeItem, OutgoingRecord>,
): PartitionAnswers[] {
  const byPartition = new Map<
    number,
    { results: DecodeResult[]; deadLetters: OutgoingRecord[]; nextOffset: number }
  >();
  for (const item of items) {
    const entry = byPartition.get(item.partition) ?? {
      results: [],
      deadLetters: [],
      nextOffset: 0,
    };
    byPartition.set(item.partition, entry);
    const result = results.get(item);
    if (result) entry.results.push(result);
    const deadLetter = deadLetters.get(item);
    if (deadLetter) entry.deadLetters.push(deadLetter);
    entry.nextOffset = Math.max(entry.nextOffset, item.record.nextOffset);
  }
  return [...byPartition].map(([partition, entry]) => ({ partition, ...entry }));
}
