import type { Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { ParamserverMetrics } from '../../shared/metrics/paramserver-metrics.js';
import type { ParamsSpec } from '../../shared/model/params-spec.js';
import type { KafkaAdmin, KafkaClient, TopicNames } from '../../shared/transport/kafka/index.js';

/** What the parts of one running paramserver share (run-paramserver.ts builds it). */
export interface ServiceContext {
  readonly config: Config;
  readonly modelId: string;
  /** A stream model's or an encoder–decoder's: the paramserver serves either alike. */
  readonly spec: ParamsSpec;
  readonly client: KafkaClient;
  /** Connected for the service's lifetime. */
  readonly admin: KafkaAdmin;
  readonly topics: TopicNames;
  readonly metrics: ParamserverMetrics;
  /** The caller's logger. */
  readonly logger: Logger;
  /** The service's own (component paramserver, app, modelId). */
  readonly log: Logger;
  /** Registers what to release when the service ends; released last-registered first. */
  readonly defer: (release: () => unknown) => void;
}
