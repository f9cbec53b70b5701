/**
 * One prequential prediction: made for an event with the state and parameters in force before
 * the event was learned from. Written as a JSON line by `run --embedded` and (as the Prediction
 * protobuf) to `<app>.predictions` by workers. The record out, beside StreamEvent, the record
 * in: codecs, the learner and the services all use it, so it lives below them.
 */
export interface Prediction {
  /**
   * 0-based position of the event in the input stream (bad records included in the count); from a
   * worker, the event's offset in its events partition.
   */
  readonly index: number;
  /** Worker output: the events partition the event came from. */
  readonly partition?: number | undefined;
  readonly key: string;
  /** Source line (JSONL) or byte offset + 1 (text) of the event. */
  readonly line?: number | undefined;
  readonly task: 'lm' | 'tag' | 'classify' | 'forecast' | 'seq2seq';
  /** Parameter version the prediction was computed with. */
  readonly paramVersion: number;
  readonly eos?: boolean | undefined;
  /**
   * lm: most likely token, the probability given to the actual token and its cost in bits.
   * seq2seq: `bits` is the teacher-forced cost of the whole target (its tokens and its end).
   */
  readonly predictedToken?: string | undefined;
  readonly probability?: number | undefined;
  readonly bits?: number | undefined;
  /** tag / classify: most likely label and its probability; the actual label when known. */
  readonly label?: string | number | undefined;
  readonly confidence?: number | undefined;
  readonly actual?: string | number | readonly number[] | undefined;
  /**
   * forecast: the predicted next feature vector in original units and its mean squared error over
   * the features present in `actual` (a missing one is NaN there, null in JSON).
   */
  readonly forecast?: readonly number[] | undefined;
  readonly squaredError?: number | undefined;
  /**
   * forecast with task.horizon H > 1: the predictions of this and the next H - 1 events of the key,
   * `forecasts[h - 1]` for h steps ahead (`forecasts[0]` is `forecast`).
   */
  readonly forecasts?: ReadonlyArray<readonly number[]> | undefined;
  /** seq2seq: the decoded target (greedy or the beam's best), tokens as the tokenizer writes them. */
  readonly hypothesis?: readonly string[] | undefined;
  /** seq2seq: ln p(hypothesis, end | source). */
  readonly hypothesisLogProb?: number | undefined;
  /** seq2seq: the pair's target, tokens as the tokenizer writes them. */
  readonly target?: readonly string[] | undefined;
  /** seq2seq: hypothesis equals target; the token edit distance between them. */
  readonly exactMatch?: boolean | undefined;
  readonly editDistance?: number | undefined;
}
