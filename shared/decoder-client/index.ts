/**
 * The decoder service's client side (docs/design.md "Decoder"): send DecodeRequests, await their
 * results. Sits on the Kafka transport.
 *
 *   createDecoderClient({ client, app })   request(request, { timeoutInMs, onPartial }) → DecodeResult
 *                                          transduce({ source, beam, nBest, maxTokens }) → DecodeResult
 */
export {
  createDecoderClient,
  DecodeTimeoutError,
  type ClientRequest,
  type DecoderClient,
  type RequestOptions,
  type TransduceRequest,
} from './decoder-client.js';
export type {
  DecodeAsk,
  DecodeRequest,
  DecodeResult,
  DecodedLabel,
  TransducedHypothesis,
} from '../codec/decode-codec.js';
