/**
 * Schema validation of Kubernetes objects with the `kubernetes-models` packages: the OpenAPI
 * schemas of Kubernetes itself and the CRD schemas of Strimzi, KEDA and the Prometheus Operator,
 * compiled to validators. An object whose apiVersion/kind has no schema here is a finding too, so
 * a new kind cannot slip through unchecked. (Like the API server without strict field validation,
 * these schemas do not reject unknown fields.)
 */
import { KafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic';
import { KafkaUser } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaUser';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';

import { ref, type Json, type K8sObject } from './k8s-objects.js';

type ModelClass = new (data: Json) => { validate(): void };

const MODELS: ReadonlyMap<string, ModelClass> = new Map<string, ModelClass>([
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['v1/PersistentVolumeClaim', PersistentVolumeClaim],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/StatefulSet', StatefulSet],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['kafka.strimzi.io/v1beta2/KafkaTopic', KafkaTopic],
  ['kafka.strimzi.io/v1beta2/KafkaUser', KafkaUser],
  ['keda.sh/v1alpha1/ScaledObject', ScaledObject],
  ['keda.sh/v1alpha1/TriggerAuthentication', TriggerAuthentication],
  ['monitoring.coreos.com/v1/ServiceMonitor', ServiceMonitor],
  ['monitoring.coreos.com/v1/PrometheusRule', PrometheusRule],
]);

/** The schema violations of one object, each prefixed with Kind/name; empty when it is valid. */
export function schemaFindings(object: K8sObject): string[] {
  const Model = MODELS.get(`${object.apiVersion}/${object.kind}`);
  if (!Model) {
    return [
      `${ref(object)}: no schema for apiVersion ${object.apiVersion} kind ${object.kind} (add its kubernetes-models class to test/support/deploy/k8s-schemas.ts)`,
    ];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${ref(object)}: ${(error as Error).message}`];
  }
}
