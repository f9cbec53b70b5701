import kafkajs from './kafkajs.js';

import type { KafkaAdmin } from './admin-session.js';
import { withKafkaErrors } from './kafka-errors.js';

export interface BrokerDescription {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** The broker configs asked for that it reported (effective values, defaults included). */
  readonly configs: Readonly<Record<string, string>>;
}

export interface ClusterDescription {
  readonly clusterId: string;
  /** Node id of the controller; undefined when the cluster has none right now. */
  readonly controller: number | undefined;
  readonly brokers: readonly BrokerDescription[];
}

/**
 * The cluster's id, controller and brokers, with the values of `brokerConfigs` on each broker
 * (e.g. `transaction.state.log.replication.factor`; a name the broker does not know is left out).
 */
export async function describeKafkaCluster({
  admin,
  brokers,
  brokerConfigs,
}: {
  admin: KafkaAdmin;
  /** Only for error messages. */
  brokers: readonly string[];
  brokerConfigs: readonly string[];
}): Promise<ClusterDescription> {
  const cluster = await withKafkaErrors({ action: 'describe the cluster', brokers }, () =>
    admin.describeCluster(),
  );
  const described = await withKafkaErrors({ action: 'describe the broker configs', brokers }, () =>
    admin.describeConfigs({
      includeSynonyms: false,
      resources: cluster.brokers.map((b) => ({
        type: kafkajs.ConfigResourceTypes.BROKER,
        name: String(b.nodeId),
        configNames: [...brokerConfigs],
      })),
    }),
  );
  const configsOf = (nodeId: number): Record<string, string> => {
    const resource = described.resources.find((r) => r.resourceName === String(nodeId));
    const configs: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? [])
      if (entry.configValue !== null) configs[entry.configName] = entry.configValue;
    return configs;
  };
  return {
    clusterId: cluster.clusterId,
    controller: cluster.controller ?? undefined,
    brokers: cluster.brokers
      .map(({ nodeId, host, port }) => ({ nodeId, host, port, configs: configsOf(nodeId) }))
      .sort((a, b) => a.nodeId - b.nodeId),
  };
}
