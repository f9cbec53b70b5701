/**
 * Every Kustomize overlay renders, every object validates against its Kubernetes or CRD schema,
 * the objects' cross-references hold, and the manifests agree with the code: topic policies
 * (TOPIC_POLICIES), the command line, the model configuration schema, the names of groups and
 * transactional ids that the ACLs must allow.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseConfig } from '../../shared/config/index.js';
import {
  policyConfigs,
  TOPIC_POLICIES,
  TOPIC_ROLES,
  topicNames,
} from '../../shared/transport/kafka/topics.js';
import { PARAMSERVER_MALLOC_ENV } from '../../services/paramserver/process-tuning.js';
import { cliFindings, optionValue } from '../support/deploy/cli-arguments.js';
import { aclAllows, type AclResourceType } from '../support/deploy/kafka-acls.js';
import {
  copyObjects,
  find,
  isWorkload,
  kubectlAvailable,
  podSpec,
  renderKustomization,
  type Json,
  type K8sObject,
} from '../support/deploy/k8s-objects.js';
import { referenceFindings, type ExternalObjects } from '../support/deploy/k8s-references.js';
import { schemaFindings } from '../support/deploy/k8s-schemas.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OVERLAYS = ['dev', 'prod', 'gpu'] as const;
/** Created by Strimzi's Cluster Operator for the Kafka cluster `rnnstream`, not by these manifests. */
const EXTERNAL: ExternalObjects = {
  secrets: { 'rnnstream-cluster-ca-cert': ['ca.crt', 'ca.p12', 'ca.password'] },
};

const skip = kubectlAvailable()
  ? false
  : 'kubectl is not on PATH: it renders the overlays (install kubectl, which includes kustomize)';

const rendered = new Map<string, K8sObject[]>();
function overlay(name: string): K8sObject[] {
  if (!rendered.has(name))
    rendered.set(name, renderKustomization(path.join(root, 'k8s', 'overlays', name)));
  return rendered.get(name)!;
}

const containerOf = (objects: K8sObject[], kind: string, name: string): Json =>
  podSpec(find(objects, kind, name)).containers[0];

/** The model configuration the pods mount (the ConfigMap generated from k8s/base/model.json). */
function modelConfig(objects: K8sObject[]) {
  const cm = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('rnnstream-model'),
  );
  assert.ok(cm, 'the rnnstream-model ConfigMap is rendered');
  return parseConfig(JSON.parse(cm.data!['model.json']!), { source: 'ConfigMap rnnstream-model' });
}

for (const name of OVERLAYS) {
  describe(`k8s overlay ${name}`, { skip }, () => {
    it('renders workers, paramserver, decoder, their topics, users, autoscaler and monitoring', () => {
      const kinds = overlay(name).map(
        (o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`,
      );
      for (const expected of [
        'StatefulSet/rnnstream-worker',
        'StatefulSet/rnnstream-paramserver',
        'Deployment/rnnstream-decoder',
        'ConfigMap/rnnstream-model',
        'ScaledObject/rnnstream-worker',
        'ServiceMonitor/rnnstream',
        'PrometheusRule/rnnstream-rules',
        'PodDisruptionBudget/rnnstream-worker',
        'PodDisruptionBudget/rnnstream-decoder',
      ])
        assert.ok(kinds.includes(expected), `${expected} is rendered (got ${kinds.join(', ')})`);
      assert.equal(overlay(name).filter((o) => o.kind === 'KafkaTopic').length, TOPIC_ROLES.length);
    });

    it('validates every object against the Kubernetes and CRD schemas', () => {
      assert.deepEqual(overlay(name).flatMap(schemaFindings), []);
    });

    it('has every cross-reference resolved: selectors, ConfigMaps, Secrets, Services, ports, scaler', () => {
      assert.deepEqual(referenceFindings(overlay(name), EXTERNAL), []);
    });

    it("mounts a model configuration that the services' config schema accepts", () => {
      assert.equal(modelConfig(overlay(name)).app, 'rnnstream');
    });

    it('runs every container with options the rnnstream command line declares', () => {
      for (const w of overlay(name).filter(isWorkload))
        for (const c of podSpec(w).containers)
          assert.deepEqual(cliFindings(c.args), [], `${w.metadata.name}/${c.name}`);
    });

    it('declares each topic with the policy the services create it with', () => {
      const objects = overlay(name);
      const names = topicNames(modelConfig(objects).app);
      const topics = objects.filter((o) => o.kind === 'KafkaTopic');
      const keyed = new Set<number>();
      for (const role of TOPIC_ROLES) {
        const topic = topics.find((t) => t.spec.topicName === names[role]);
        assert.ok(topic, `a KafkaTopic for ${names[role]}`);
        const { 'min.insync.replicas': minIsr, ...config } = topic.spec.config;
        assert.deepEqual(config, policyConfigs(role), `${names[role]} config`);
        assert.ok(
          Number(minIsr) >= 1 && Number(minIsr) <= topic.spec.replicas,
          `${names[role]} min.insync.replicas`,
        );
        const fixed = TOPIC_POLICIES[role].partitions;
        if (fixed === 'keyed') keyed.add(topic.spec.partitions);
        else assert.equal(topic.spec.partitions, fixed, `${names[role]} partitions`);
      }
      // A worker owns a key's events and its state together: co-partitioned keyed topics.
      assert.equal(
        keyed.size,
        1,
        `keyed topics share one partition count, got ${[...keyed].join(', ')}`,
      );
    });

    it('gives workers stable ids from their StatefulSet pod names', () => {
      const worker = containerOf(overlay(name), 'StatefulSet', 'rnnstream-worker');
      assert.equal(optionValue(worker.args, '--worker-id'), '$(POD_NAME)');
      const podName = worker.env.find((e: Json) => e.name === 'POD_NAME');
      assert.equal(podName?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
    });

    it('keeps the paramserver checkpoints on a persistent volume, with its malloc settings', () => {
      const objects = overlay(name);
      const ps = find(objects, 'StatefulSet', 'rnnstream-paramserver');
      const container = podSpec(ps).containers[0];
      const dir = optionValue(container.args, '--checkpoint-dir');
      const mount = container.volumeMounts.find((m: Json) => m.mountPath === dir);
      assert.ok(mount, `a volume is mounted at --checkpoint-dir ${dir}`);
      const claims = ps.spec.volumeClaimTemplates.map((t: Json) => t.metadata.name);
      assert.ok(
        claims.includes(mount.name),
        `${mount.name} is a volume claim template (got ${claims})`,
      );
      assert.equal(ps.spec.replicas, 1, 'one paramserver per app');
      for (const [key, value] of Object.entries(PARAMSERVER_MALLOC_ENV))
        assert.equal(container.env.find((e: Json) => e.name === key)?.value, value, key);
    });

    it('probes /healthz and /readyz on the port each service serves metrics on', () => {
      for (const w of overlay(name).filter(isWorkload)) {
        for (const c of podSpec(w).containers) {
          const metricsPort = Number(optionValue(c.args, '--metrics-port'));
          const port = c.ports.find((p: Json) => p.name === c.livenessProbe.httpGet.port);
          assert.equal(
            port?.containerPort,
            metricsPort,
            `${w.metadata.name}: probes hit --metrics-port`,
          );
          assert.equal(c.livenessProbe.httpGet.path, '/healthz');
          assert.equal(c.readinessProbe.httpGet.path, '/readyz');
          assert.ok(
            c.resources?.requests?.cpu && c.resources?.limits?.memory,
            `${w.metadata.name}: requests and limits`,
          );
        }
      }
    });

    it("scales workers on the lag of the workers' group on the events topic", () => {
      const objects = overlay(name);
      const app = modelConfig(objects).app;
      const trigger = find(objects, 'ScaledObject', 'rnnstream-worker').spec.triggers[0];
      assert.equal(trigger.metadata.consumerGroup, `${app}.workers`);
      assert.equal(trigger.metadata.topic, topicNames(app).events);
      const kafka = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('rnnstream-kafka'),
      )!;
      assert.equal(trigger.metadata.bootstrapServers, kafka.data!.brokers);
    });

    it("grants each service's Kafka user what the service does, and no topic creation", () => {
      const objects = overlay(name);
      const app = modelConfig(objects).app;
      const t = topicNames(app);
      // The names the code uses: groups in run-worker.ts / run-decoder.ts, transactional ids in
      // partition-lifecycle.ts, result-outbox.ts and params-publisher.ts (model id "default"),
      // restore / tail / follower groups in read-partitions.ts, partition-tail.ts, follow-params.ts.
      const needs: Record<string, Array<[AclResourceType, string, string]>> = {
        'rnnstream-worker': [
          ['topic', t.events, 'Read'],
          ['topic', t.stateChangelog, 'Read'],
          ['topic', t.stateChangelog, 'Write'],
          ['topic', t.predictions, 'Write'],
          ['topic', t.gradients, 'Write'],
          ['topic', t.deadLetter, 'Write'],
          ['topic', t.params, 'Read'],
          ['group', `${app}.workers`, 'Read'],
          ['group', `${t.stateChangelog}.restore.0b8e1c2a-uuid`, 'Read'],
          ['group', `${app}.params-follower.0b8e1c2a-uuid`, 'Read'],
          ['transactionalId', `${app}.workers.${t.events}.3`, 'Write'],
        ],
        'rnnstream-paramserver': [
          ...TOPIC_ROLES.map((r): [AclResourceType, string, string] => ['topic', t[r], 'Describe']),
          ['topic', t.stateChangelog, 'DescribeConfigs'],
          ['topic', t.params, 'DescribeConfigs'],
          ['topic', t.gradients, 'Read'],
          ['topic', t.params, 'Read'],
          ['topic', t.params, 'Write'],
          ['group', `${app}.paramserver.default`, 'Read'],
          ['group', `${app}.paramserver.default.reader.1700000000000-a1b2c3`, 'Read'],
          ['group', `${app}.paramserver.default.reader.1600000000000-a1b2c3`, 'Delete'],
          ['group', `${app}.params-follower.0b8e1c2a-uuid`, 'Read'],
          ['transactionalId', `${app}.paramserver.default`, 'Write'],
        ],
        'rnnstream-decoder': [
          ['topic', t.decodeRequests, 'Read'],
          ['topic', t.decodeResults, 'Write'],
          ['topic', t.deadLetter, 'Write'],
          ['topic', t.stateChangelog, 'Read'],
          ['topic', t.params, 'Read'],
          ['group', `${app}.decoders`, 'Read'],
          ['group', `${t.stateChangelog}.tail.0b8e1c2a-uuid`, 'Read'],
          ['group', `${app}.params-follower.0b8e1c2a-uuid`, 'Read'],
          ['transactionalId', `${app}.decoders.${t.decodeRequests}.0`, 'Write'],
        ],
      };
      for (const [userName, wanted] of Object.entries(needs)) {
        const user = find(objects, 'KafkaUser', userName);
        for (const [type, resource, op] of wanted)
          assert.ok(
            aclAllows(user, type, resource, op),
            `${userName} may ${op} ${type} ${resource}`,
          );
        for (const role of TOPIC_ROLES)
          assert.ok(
            !aclAllows(user, 'topic', t[role], 'Create'),
            `${userName} may not create ${t[role]}`,
          );
        assert.ok(
          !aclAllows(user, 'topic', `${app}x.events`, 'Read'),
          `${userName}: no access beyond the app`,
        );
      }
      // Each service logs in as its own user, with that user's password.
      for (const w of objects.filter(isWorkload)) {
        const env = podSpec(w).containers[0].env;
        const username = env.find((e: Json) => e.name === 'RNNSTREAM_KAFKA_SASL_USERNAME')?.value;
        const secret = env.find((e: Json) => e.name === 'RNNSTREAM_KAFKA_SASL_PASSWORD')?.valueFrom
          ?.secretKeyRef?.name;
        assert.equal(secret, username, `${w.metadata.name} reads the password of its own user`);
        assert.ok(
          find(objects, 'KafkaUser', username),
          `${w.metadata.name}: KafkaUser ${username}`,
        );
      }
    });

    it(
      name === 'gpu'
        ? 'runs workers and decoders on GPU nodes with the GPU image'
        : 'requests no GPU',
      () => {
        for (const w of overlay(name).filter(isWorkload)) {
          const spec = podSpec(w);
          const c = spec.containers[0];
          const gpus = Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0);
          const gpuImage = /-gpu$/.test(c.image);
          const wantsGpu = name === 'gpu' && w.metadata.name !== 'rnnstream-paramserver';
          assert.equal(gpus, wantsGpu ? 1 : 0, `${w.metadata.name}: nvidia.com/gpu`);
          assert.equal(gpuImage, wantsGpu, `${w.metadata.name}: image ${c.image}`);
          if (wantsGpu) {
            assert.equal(spec.nodeSelector?.['nvidia.com/gpu.present'], 'true');
            assert.ok(spec.tolerations?.some((t: Json) => t.key === 'nvidia.com/gpu'));
          }
        }
      },
    );
  });
}

describe('the k8s reference checker', { skip }, () => {
  const broken = (mutate: (objects: K8sObject[]) => void): string[] => {
    const objects = copyObjects(overlay('dev'));
    mutate(objects);
    return referenceFindings(objects, EXTERNAL);
  };

  it('reports a StatefulSet whose selector no longer matches its pod labels', () => {
    const findings = broken((o) => {
      find(o, 'StatefulSet', 'rnnstream-worker').spec.selector.matchLabels[
        'app.kubernetes.io/component'
      ] = 'workers';
    });
    assert.deepEqual(findings, [
      'StatefulSet/rnnstream-worker: selector {"app.kubernetes.io/component":"workers","app.kubernetes.io/name":"rnnstream"} does not match its pod labels {"app.kubernetes.io/component":"worker","app.kubernetes.io/name":"rnnstream","app.kubernetes.io/part-of":"rnnstream","app.kubernetes.io/version":"0.1.0"}',
    ]);
  });

  it('reports the Service, PodDisruptionBudget and governing Service of relabelled pods', () => {
    const findings = broken((o) => {
      const worker = find(o, 'StatefulSet', 'rnnstream-worker');
      worker.spec.template.metadata.labels['app.kubernetes.io/component'] = 'trainer';
      worker.spec.selector.matchLabels['app.kubernetes.io/component'] = 'trainer';
    });
    const selector =
      '{"app.kubernetes.io/component":"worker","app.kubernetes.io/name":"rnnstream"}';
    assert.deepEqual(findings, [
      'StatefulSet/rnnstream-worker: its governing Service rnnstream-worker does not select its pods',
      `Service/rnnstream-worker: selector ${selector} selects no pods`,
      `PodDisruptionBudget/rnnstream-worker: selector ${selector} selects no pods`,
    ]);
  });

  it('reports an autoscaler maximum above the partitions of the topic it follows', () => {
    const findings = broken((o) => {
      find(o, 'ScaledObject', 'rnnstream-worker').spec.maxReplicaCount = 3;
    });
    assert.deepEqual(findings, [
      'ScaledObject/rnnstream-worker: maxReplicaCount 3 exceeds the 2 partitions of rnnstream.events (the extra consumers would sit idle)',
    ]);
  });

  it('reports a missing ConfigMap, Secret key and a probe on a port the container lacks', () => {
    const findings = broken((o) => {
      const spec = podSpec(find(o, 'Deployment', 'rnnstream-decoder'));
      spec.volumes.find((v: Json) => v.name === 'model').configMap.name = 'rnnstream-model-typo';
      spec.containers[0].env.find(
        (e: Json) => e.name === 'RNNSTREAM_KAFKA_SASL_PASSWORD',
      ).valueFrom.secretKeyRef.key = 'passwd';
      spec.containers[0].readinessProbe.httpGet.port = 'metric';
    });
    assert.deepEqual(findings, [
      'Deployment/rnnstream-decoder volume model: ConfigMap rnnstream-model-typo does not exist',
      'Deployment/rnnstream-decoder container decoder: readinessProbe port metric is not a port of the container',
      'Deployment/rnnstream-decoder container decoder env RNNSTREAM_KAFKA_SASL_PASSWORD: Secret rnnstream-decoder has no key passwd (it has password, sasl.jaas.config)',
    ]);
  });

  it('reports a Service port and an argument variable that lead nowhere', () => {
    const findings = broken((o) => {
      find(o, 'Service', 'rnnstream-paramserver').spec.ports[0].targetPort = 9465;
      const c = podSpec(find(o, 'StatefulSet', 'rnnstream-paramserver')).containers[0];
      c.env = c.env.filter((e: Json) => e.name !== 'KAFKA_BROKERS');
    });
    assert.deepEqual(findings, [
      'StatefulSet/rnnstream-paramserver container paramserver: argument --brokers=$(KAFKA_BROKERS) refers to $(KAFKA_BROKERS), which is not in its env',
      "Service/rnnstream-paramserver: port metrics targets 9465, which StatefulSet/rnnstream-paramserver's containers do not expose",
    ]);
  });

  it('reports schema violations with the object and the field', () => {
    const objects = copyObjects(overlay('dev'));
    find(objects, 'KafkaTopic', 'rnnstream-events').spec.partitions = 'two';
    const topic = find(objects, 'KafkaTopic', 'rnnstream-events');
    assert.deepEqual(schemaFindings(topic), [
      'KafkaTopic/rnnstream-events: data/spec/partitions must be integer',
    ]);
    assert.deepEqual(schemaFindings({ ...topic, apiVersion: 'kafka.strimzi.io/v9' }), [
      'KafkaTopic/rnnstream-events: no schema for apiVersion kafka.strimzi.io/v9 kind KafkaTopic (add its kubernetes-models class to test/support/deploy/k8s-schemas.ts)',
    ]);
  });
});
