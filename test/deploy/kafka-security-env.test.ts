/**
 * The manifests connect the way the services read their Kafka security settings: every
 * RNNSTREAM_KAFKA_* variable a container sets is one shared/config/kafka-env.ts declares, and
 * SASL over TLS is complete (mechanism, user, password, TLS on with the cluster CA).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { KAFKA_ENV } from '../../shared/config/kafka-env.js';
import {
  isWorkload,
  kubectlAvailable,
  podSpec,
  renderKustomization,
} from '../support/deploy/k8s-objects.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const known = new Set<string>(Object.values(KAFKA_ENV).map((v) => v.env));

for (const overlay of ['dev', 'prod', 'gpu'])
  test(
    `${overlay}: every container's RNNSTREAM_KAFKA_* variable is one the services read, and SASL_SSL is complete`,
    {
      skip: kubectlAvailable() ? false : 'kubectl is not installed',
    },
    () => {
      const workloads = renderKustomization(join(root, 'k8s/overlays', overlay)).filter(isWorkload);
      assert.ok(workloads.length >= 3);
      for (const workload of workloads)
        for (const container of podSpec(workload).containers as Array<{
          name: string;
          env?: Array<{ name: string }>;
        }>) {
          const names = (container.env ?? [])
            .map((e) => e.name)
            .filter((n) => n.startsWith('RNNSTREAM_KAFKA_'));
          for (const name of names)
            assert.ok(
              known.has(name),
              `${workload.metadata.name}/${container.name}: ${name} is not read by the services`,
            );
          for (const needed of [
            'RNNSTREAM_KAFKA_SSL',
            'RNNSTREAM_KAFKA_SSL_CA_FILE',
            'RNNSTREAM_KAFKA_SASL_MECHANISM',
            'RNNSTREAM_KAFKA_SASL_USERNAME',
          ])
            assert.ok(
              names.includes(needed),
              `${workload.metadata.name}/${container.name} sets ${needed}`,
            );
          assert.ok(
            names.includes('RNNSTREAM_KAFKA_SASL_PASSWORD') ||
              names.includes('RNNSTREAM_KAFKA_SASL_PASSWORD_FILE'),
            `${workload.metadata.name}/${container.name} has the SASL password`,
          );
        }
    },
  );
