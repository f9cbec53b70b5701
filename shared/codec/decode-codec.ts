/**
 * DecodeRequest / DecodeResult (`<app>.decode-requests` → `<app>.decode-results`) as plain
 * TypeScript data, and their protobuf bytes. The request side validates only what the wire can
 * get wrong (bytes, UTF-8, the events of a sequence); what a request may ask of a model is the
 * decoder's check (shared/decoding/decode-job.ts).
 */
import { isUtf8 } from 'node:buffer';

import { InputError } from '../errors/index.js';
import { renderValue } from '../errors/render-value.js';
import { DEFAULT_INPUT_LIMITS, limitError, type InputLimits } from '../events/input-limits.js';
import type { StreamEvent } from '../events/stream-event.js';
import { eventToMessage, messageToEvent, pairTokens, tokenList } from './event-codec.js';
import { rnnstream } from './generated/rnnstream.js';
import { int64ToNumber, type LongBits } from './int64.js';

const FIX =
  'send requests with `rnnstream generate --brokers` / `rnnstream decode`, or the DecoderClient of shared/decoder-client, or encode rnnstream.v1.DecodeRequest of proto/rnnstream.proto';

/** What a request asks for; `undefined` strategy on the wire means greedy generation. */
export type DecodeAsk =
  | { readonly kind: 'greedy' }
  | {
      readonly kind: 'sample';
      readonly temperature: number;
      /** 0: no top-k cut. */
      readonly topK: number;
      /** 0 or 1: no nucleus cut. */
      readonly topP: number;
      readonly seed: number;
    }
  | { readonly kind: 'beam'; readonly width: number; readonly lengthPenalty: number }
  /** Tag (task tag) or classify (task classify) these events: the older form of tag / classify. */
  | { readonly kind: 'labelEvents'; readonly events: readonly StreamEvent[] }
  | { readonly kind: 'tag'; readonly events: readonly StreamEvent[]; readonly lastSteps: number }
  | { readonly kind: 'classify'; readonly events: readonly StreamEvent[] }
  | { readonly kind: 'forecast'; readonly steps: number; readonly events: readonly StreamEvent[] }
  | TransduceAsk;

/** Target sequences for a source, from a seq2seq model. */
export interface TransduceAsk {
  readonly kind: 'transduce';
  /** Tokens as a pair event's source: text tokens of input.tokenizer or ids. */
  readonly source: ReadonlyArray<string | number>;
  /** Or the source as text the decoder tokenizes ('' when `source` is given). */
  readonly sourceText: string;
  readonly decoding:
    | { readonly kind: 'greedy' }
    | { readonly kind: 'beam'; readonly width: number; readonly lengthPenalty: number };
  /** Hypotheses asked for (0: 1). */
  readonly nBest: number;
}

export interface DecodeRequest {
  readonly requestId: string;
  /** Continue from this sequence key's state. */
  readonly key?: string | undefined;
  readonly promptTokens?: readonly number[] | undefined;
  readonly promptText?: string | undefined;
  readonly maxTokens?: number | undefined;
  readonly ask: DecodeAsk;
  readonly stopTokens?: readonly number[] | undefined;
  /** When the client sent it, ms since the epoch (0: unknown). */
  readonly tsMs?: number | undefined;
  /** Expires at this time, ms since the epoch (0: the decoder's default timeout). */
  readonly deadlineMs?: number | undefined;
  readonly stream?: boolean | undefined;
  /** The model (config `app`) the client expects; empty: any. */
  readonly model?: string | undefined;
  readonly returnState?: boolean | undefined;
}

export type DecodeTaskName = 'generate' | 'tag' | 'classify' | 'forecast' | 'transduce';

export type DecodeErrorCode =
  'invalid_request' | 'unknown_key' | 'wrong_model' | 'timeout' | 'internal';

export interface DecodedLabel {
  readonly index: number;
  /** The label's name, or its class id when the decoder does not know the name. */
  readonly value: string | number;
  readonly confidence: number;
  readonly probabilities: readonly number[];
}

/** One target hypothesis of a transduce result. */
export interface TransducedHypothesis {
  readonly tokens: readonly number[];
  readonly text: string;
  /** ln p of each emitted id, the end-of-target's last when `finished`. */
  readonly tokenLogProbs: readonly number[];
  readonly logProb: number;
  /** logProb / ((5 + length) / 6)^α: the beam's ranking (greedy: logProb). */
  readonly score: number;
  /** Ended with the end-of-target (false: cut by max_tokens). */
  readonly finished: boolean;
}

export interface DecodeTimings {
  readonly receivedMs: number;
  readonly queuedMs: number;
  readonly computeMs: number;
  readonly batchSize: number;
}

export interface StateFreshness {
  readonly partition: number;
  readonly changelogOffset: number;
  readonly keyInputOffset: number;
  readonly eventsOffset: number;
  readonly position: number;
  readonly stateParamVersion: number;
}

export interface DecodeResult {
  readonly requestId: string;
  readonly key?: string | undefined;
  readonly task?: DecodeTaskName | undefined;
  readonly tokens?: readonly number[] | undefined;
  readonly text?: string | undefined;
  readonly tokenLogProbs?: readonly number[] | undefined;
  readonly logProb?: number | undefined;
  readonly finishReason?: 'stop' | 'length' | undefined;
  readonly labels?: readonly DecodedLabel[] | undefined;
  readonly forecasts?: ReadonlyArray<readonly number[]> | undefined;
  readonly paramVersion: number;
  /** Set (with errorCode) when the request failed. */
  readonly error?: string | undefined;
  readonly errorCode?: DecodeErrorCode | undefined;
  /** A streamed partial result: the tokens since the previous partial. */
  readonly partial?: boolean | undefined;
  readonly tsMs: number;
  readonly timings?: DecodeTimings | undefined;
  readonly state?: StateFreshness | undefined;
  readonly startState?: Float32Array | undefined;
  readonly nextDistribution?: Float32Array | undefined;
  /** Transduce: the n-best hypotheses, best first (the best also fills tokens, text, logProb...). */
  readonly hypotheses?: readonly TransducedHypothesis[] | undefined;
}

/** DecodeRequest protobuf bytes; events are validated like JSON lines (InputError otherwise). */
export function encodeDecodeRequest(
  request: DecodeRequest,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Uint8Array {
  const { ask } = request;
  const m: rnnstream.v1.DecodeRequest.$Properties = {
    requestId: request.requestId,
    promptTokens: request.promptTokens ? [...request.promptTokens] : [],
    promptText: request.promptText ?? '',
    maxTokens: request.maxTokens ?? 0,
    stopTokens: request.stopTokens ? [...request.stopTokens] : [],
    tsMs: request.tsMs ?? 0,
    deadlineMs: request.deadlineMs ?? 0,
    stream: request.stream ?? false,
    model: request.model ?? '',
    returnState: request.returnState ?? false,
  };
  if (request.key !== undefined) m.key = request.key;
  const sequence = (events: readonly StreamEvent[]) => ({
    events: events.map((e) => eventToMessage(e, limits)),
  });
  switch (ask.kind) {
    case 'greedy':
      m.greedy = {};
      break;
    case 'sample':
      m.sample = { temperature: ask.temperature, topK: ask.topK, topP: ask.topP, seed: ask.seed };
      break;
    case 'beam':
      m.beam = { width: ask.width, lengthPenalty: ask.lengthPenalty };
      break;
    case 'labelEvents':
      m.labelEvents = sequence(ask.events);
      break;
    case 'tag':
      m.tag = { events: sequence(ask.events), lastSteps: ask.lastSteps };
      break;
    case 'classify':
      m.classify = { events: sequence(ask.events) };
      break;
    case 'forecast':
      m.forecast = { steps: ask.steps, events: sequence(ask.events) };
      break;
    case 'transduce':
      m.transduce = {
        source: tokenList(ask.source),
        sourceText: ask.sourceText,
        nBest: ask.nBest,
        ...(ask.decoding.kind === 'beam'
          ? { beam: { width: ask.decoding.width, lengthPenalty: ask.decoding.lengthPenalty } }
          : { greedy: {} }),
      };
      break;
  }
  return rnnstream.v1.DecodeRequest.encode(m).finish();
}

/**
 * The request in DecodeRequest bytes. Throws InputError (a reason for the dead-letter topic) for
 * bytes over limits.maxEventBytes, bytes that are not a DecodeRequest, strings that are not UTF-8,
 * a missing request id, and events that break the event contract. An event of a sequence without
 * a key takes the request's key (or its request id).
 */
export function decodeDecodeRequest(
  bytes: Uint8Array,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): DecodeRequest {
  if (bytes.byteLength > limits.maxEventBytes)
    throw limitError({
      what: 'decode request',
      size: bytes.byteLength,
      unit: 'bytes',
      limit: 'maxEventBytes',
      limits,
    });
  let m: rnnstream.v1.DecodeRequest;
  try {
    m = rnnstream.v1.DecodeRequest.decode(bytes);
  } catch (error) {
    throw new InputError({
      reason: `not a DecodeRequest message: ${(error as Error).message}`,
      fix: FIX,
    });
  }
  checkUtf8(bytes, m);
  if (m.requestId === '')
    throw new InputError({
      reason: 'DecodeRequest has no request_id',
      fix: 'give every request a unique id (e.g. a UUID): the result carries it',
    });
  const key = m.key ?? undefined;
  const events = (sequence: rnnstream.v1.IEventSequence | null | undefined) =>
    (sequence?.events ?? []).map((e, i) => {
      const event = rnnstream.v1.Event.fromObject(e);
      if (event.key === '') event.key = key ?? m.requestId;
      try {
        return messageToEvent(event, limits);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError({ reason: `events[${i}]: ${error.reason}`, fix: FIX });
      }
    });
  let ask: DecodeAsk;
  switch (m.strategy) {
    case 'sample': {
      const s = m.sample!;
      ask = {
        kind: 'sample',
        temperature: s.temperature ?? 0,
        topK: s.topK ?? 0,
        topP: s.topP ?? 0,
        seed: int64ToNumber(s.seed, 'sample.seed'),
      };
      break;
    }
    case 'beam':
      ask = { kind: 'beam', width: m.beam!.width ?? 0, lengthPenalty: m.beam!.lengthPenalty ?? 0 };
      break;
    case 'labelEvents':
      ask = { kind: 'labelEvents', events: events(m.labelEvents) };
      break;
    case 'tag':
      ask = { kind: 'tag', events: events(m.tag!.events), lastSteps: m.tag!.lastSteps ?? 0 };
      break;
    case 'classify':
      ask = { kind: 'classify', events: events(m.classify!.events) };
      break;
    case 'forecast':
      ask = { kind: 'forecast', steps: m.forecast!.steps ?? 0, events: events(m.forecast!.events) };
      break;
    case 'transduce': {
      const t = rnnstream.v1.DecodeRequest.Transduce.fromObject(m.transduce!);
      ask = {
        kind: 'transduce',
        source: t.source ? pairTokens(t.source, 'transduce.source') : [],
        sourceText: t.sourceText,
        decoding:
          t.decoding === 'beam'
            ? { kind: 'beam', width: t.beam!.width ?? 0, lengthPenalty: t.beam!.lengthPenalty ?? 0 }
            : { kind: 'greedy' },
        nBest: t.nBest,
      };
      break;
    }
    default:
      ask = { kind: 'greedy' };
  }
  return {
    requestId: m.requestId,
    key,
    promptTokens: m.promptTokens,
    promptText: m.promptText,
    maxTokens: m.maxTokens,
    ask,
    stopTokens: m.stopTokens,
    tsMs: int64ToNumber(m.tsMs, 'ts_ms'),
    deadlineMs: int64ToNumber(m.deadlineMs, 'deadline_ms'),
    stream: m.stream,
    model: m.model,
    returnState: m.returnState,
  };
}

/**
 * The request_id of DecodeRequest bytes too large to decode, read from their first field only
 * (every encoder writes fields in number order, request_id = 1 first): a bounded look, so an
 * oversized request can still be answered with an error result. Undefined when the bytes do not
 * start with a UTF-8 request_id of at most 256 bytes.
 */
export function peekRequestId(bytes: Uint8Array): string | undefined {
  const REQUEST_ID_KEY = 0x0a; // field 1, wire type 2 (length-delimited)
  if (bytes.length < 2 || bytes[0] !== REQUEST_ID_KEY) return undefined;
  const length = bytes[1]!;
  let start = 2;
  let size = length;
  if (length & 0x80) {
    if (bytes.length < 3 || bytes[2]! & 0x80) return undefined; // ids over 16 KiB: not one
    size = (length & 0x7f) | (bytes[2]! << 7);
    start = 3;
  }
  if (size === 0 || size > 256 || start + size > bytes.length) return undefined;
  const id = bytes.subarray(start, start + size);
  return isUtf8(id) ? Buffer.from(id).toString('utf8') : undefined;
}

/** DecodeResult protobuf bytes. */
export function encodeDecodeResult(result: DecodeResult): Uint8Array {
  const m: rnnstream.v1.DecodeResult.$Properties = {
    requestId: result.requestId,
    tokens: result.tokens ? [...result.tokens] : [],
    text: result.text ?? '',
    logProb: result.logProb ?? 0,
    finishReason: result.finishReason ?? '',
    labels: (result.labels ?? []).map((l) => ({
      index: l.index,
      ...(typeof l.value === 'string' ? { text: l.value } : { id: l.value }),
      confidence: l.confidence,
      probabilities: [...l.probabilities],
    })),
    paramVersion: result.paramVersion,
    error: result.error ?? '',
    errorCode: result.errorCode ?? '',
    tsMs: result.tsMs,
    tokenLogProbs: result.tokenLogProbs ? [...result.tokenLogProbs] : [],
    partial: result.partial ?? false,
    task: result.task ?? '',
    forecasts: (result.forecasts ?? []).map((values) => ({ values: [...values] })),
  };
  if (result.key !== undefined) m.key = result.key;
  if (result.timings) m.timings = { ...result.timings };
  if (result.state) m.state = { ...result.state };
  if (result.startState) m.startState = { values: Array.from(result.startState) };
  if (result.nextDistribution) m.nextDistribution = { values: Array.from(result.nextDistribution) };
  if (result.hypotheses)
    m.hypotheses = result.hypotheses.map((h) => ({
      ...h,
      tokens: [...h.tokens],
      tokenLogProbs: [...h.tokenLogProbs],
    }));
  return rnnstream.v1.DecodeResult.encode(m).finish();
}

/** The result in DecodeResult bytes; throws InputError for bytes that are not one. */
export function decodeDecodeResult(bytes: Uint8Array): DecodeResult {
  let m: rnnstream.v1.DecodeResult;
  try {
    m = rnnstream.v1.DecodeResult.decode(bytes);
  } catch (error) {
    throw new InputError({
      reason: `not a DecodeResult message: ${(error as Error).message}`,
      fix: 'read `<app>.decode-results` with the DecoderClient of shared/decoder-client',
    });
  }
  const n = (v: number | LongBits | null | undefined, name: string) => int64ToNumber(v, name);
  return {
    requestId: m.requestId,
    key: m.key ?? undefined,
    task: (m.task || undefined) as DecodeTaskName | undefined,
    tokens: m.tokens,
    text: m.text,
    tokenLogProbs: m.tokenLogProbs,
    logProb: m.logProb,
    finishReason: (m.finishReason || undefined) as 'stop' | 'length' | undefined,
    labels: m.labels.map((l) => {
      const label = rnnstream.v1.DecodedLabel.fromObject(l);
      return {
        index: label.index,
        value: label.value === 'text' ? (label.text ?? '') : n(label.id, 'label id'),
        confidence: label.confidence,
        probabilities: label.probabilities,
      };
    }),
    forecasts: m.forecasts.map((f) => f.values ?? []),
    paramVersion: n(m.paramVersion, 'param_version'),
    error: m.error || undefined,
    errorCode: (m.errorCode || undefined) as DecodeErrorCode | undefined,
    partial: m.partial,
    tsMs: n(m.tsMs, 'ts_ms'),
    timings: m.timings
      ? {
          receivedMs: n(m.timings.receivedMs, 'received_ms'),
          queuedMs: m.timings.queuedMs ?? 0,
          computeMs: m.timings.computeMs ?? 0,
          batchSize: m.timings.batchSize ?? 0,
        }
      : undefined,
    state: m.state
      ? {
          partition: m.state.partition ?? 0,
          changelogOffset: n(m.state.changelogOffset, 'changelog_offset'),
          keyInputOffset: n(m.state.keyInputOffset, 'key_input_offset'),
          eventsOffset: n(m.state.eventsOffset, 'events_offset'),
          position: n(m.state.position, 'position'),
          stateParamVersion: n(m.state.stateParamVersion, 'state_param_version'),
        }
      : undefined,
    startState: m.startState ? Float32Array.from(m.startState.values ?? []) : undefined,
    nextDistribution: m.nextDistribution
      ? Float32Array.from(m.nextDistribution.values ?? [])
      : undefined,
    hypotheses:
      m.hypotheses.length > 0
        ? m.hypotheses.map((h) => ({
            tokens: h.tokens ?? [],
            text: h.text ?? '',
            tokenLogProbs: h.tokenLogProbs ?? [],
            logProb: h.logProb ?? 0,
            score: h.score ?? 0,
            finished: h.finished ?? false,
          }))
        : undefined,
  };
}

/** protobufjs replaces invalid UTF-8 silently; a request's strings must be what the client sent. */
function checkUtf8(bytes: Uint8Array, m: rnnstream.v1.DecodeRequest): void {
  if (isUtf8(bytes)) return; // the whole message is UTF-8: so is every string in it
  const source = m.transduce?.source?.tokens ?? [];
  const strings = [
    m.requestId,
    m.key ?? '',
    m.promptText,
    m.model,
    m.transduce?.sourceText ?? '',
    ...source.map((t) => t.text ?? ''),
  ];
  for (const s of strings) {
    if (s.includes('\uFFFD'))
      throw new InputError({
        reason: `DecodeRequest has a string that is not valid UTF-8 (${renderValue(s, { maxChars: 40 })})`,
        fix: 'send UTF-8 strings',
      });
  }
}
