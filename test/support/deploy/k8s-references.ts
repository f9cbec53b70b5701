/**
 * Cross-reference checks over a set of Kubernetes objects (one rendered overlay): what a schema
 * cannot see, because it spans objects. Each finding names the object, the reference and what is
 * missing. Objects that operators create at run time are known here: Strimzi's User Operator
 * writes a Secret named after each KafkaUser (key `password` for SCRAM users), and `external`
 * lists what the cluster must already hold.
 */
import {
  isWorkload,
  podLabels,
  podSpec,
  ref,
  selects,
  type Json,
  type K8sObject,
} from './k8s-objects.js';

export interface ExternalObjects {
  /** Secret name -> its keys, for Secrets created outside these manifests. */
  readonly secrets: Readonly<Record<string, readonly string[]>>;
}

export function referenceFindings(
  objects: readonly K8sObject[],
  external: ExternalObjects = { secrets: {} },
): string[] {
  const findings: string[] = [];
  const workloads = objects.filter(isWorkload);
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  const configMapKeys = new Map<string, string[]>(
    ofKind('ConfigMap').map((o) => [o.metadata.name, Object.keys(o.data ?? {})]),
  );
  const secretKeys = new Map<string, readonly string[]>([
    ...Object.entries(external.secrets),
    ...ofKind('KafkaUser').map((u): [string, string[]] => [
      u.metadata.name,
      u.spec?.authentication?.type === 'scram-sha-512'
        ? ['password', 'sasl.jaas.config']
        : ['ca.crt', 'user.crt', 'user.key', 'user.p12', 'user.password'],
    ]),
    ...ofKind('Secret').map((o): [string, string[]] => [
      o.metadata.name,
      Object.keys({ ...o.data, ...(o as Json).stringData }),
    ]),
  ]);
  const checkConfigMap = (where: string, name: string, key?: string) => {
    const keys = configMapKeys.get(name);
    if (!keys) findings.push(`${where}: ConfigMap ${name} does not exist`);
    else if (key !== undefined && !keys.includes(key))
      findings.push(`${where}: ConfigMap ${name} has no key ${key} (it has ${keys.join(', ')})`);
  };
  const checkSecret = (where: string, name: string, key?: string) => {
    const keys = secretKeys.get(name);
    if (!keys)
      findings.push(`${where}: Secret ${name} does not exist (nor a KafkaUser that creates it)`);
    else if (key !== undefined && !keys.includes(key))
      findings.push(`${where}: Secret ${name} has no key ${key} (it has ${keys.join(', ')})`);
  };

  for (const w of workloads) {
    const where = ref(w);
    const labels = podLabels(w);
    if (!selects(w.spec?.selector?.matchLabels, labels))
      findings.push(
        `${where}: selector ${JSON.stringify(w.spec?.selector?.matchLabels)} does not match its pod labels ${JSON.stringify(labels)}`,
      );
    const spec = podSpec(w);
    const volumes = new Map<string, Json>((spec.volumes ?? []).map((v: Json) => [v.name, v]));
    for (const t of w.spec?.volumeClaimTemplates ?? [])
      volumes.set(t.metadata.name, { persistentVolumeClaim: { template: true } });
    for (const v of spec.volumes ?? []) {
      if (v.configMap) checkConfigMap(`${where} volume ${v.name}`, v.configMap.name);
      for (const item of v.configMap?.items ?? [])
        checkConfigMap(`${where} volume ${v.name}`, v.configMap.name, item.key);
      if (v.secret) checkSecret(`${where} volume ${v.name}`, v.secret.secretName);
      for (const item of v.secret?.items ?? [])
        checkSecret(`${where} volume ${v.name}`, v.secret.secretName, item.key);
      if (
        v.persistentVolumeClaim &&
        !named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)
      )
        findings.push(
          `${where} volume ${v.name}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} does not exist`,
        );
    }
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const at = `${where} container ${c.name}`;
      const portNames = new Set((c.ports ?? []).map((p: Json) => p.name).filter(Boolean));
      const portNumbers = new Set((c.ports ?? []).map((p: Json) => p.containerPort));
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (
          port !== undefined &&
          !(typeof port === 'string' ? portNames.has(port) : portNumbers.has(port))
        )
          findings.push(`${at}: ${probe} port ${port} is not a port of the container`);
      }
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) findings.push(`${at}: volumeMount ${m.name} has no volume`);
      const envNames = new Set<string>();
      for (const e of c.env ?? []) {
        envNames.add(e.name);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !cm.optional) checkConfigMap(`${at} env ${e.name}`, cm.name, cm.key);
        const sk = e.valueFrom?.secretKeyRef;
        if (sk && !sk.optional) checkSecret(`${at} env ${e.name}`, sk.name, sk.key);
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) checkConfigMap(`${at} envFrom`, from.configMapRef.name);
        if (from.secretRef) checkSecret(`${at} envFrom`, from.secretRef.name);
      }
      // $(VAR) in command and args expands only variables defined in the container's env.
      for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
        for (const [, name] of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
          if (!envNames.has(name!))
            findings.push(`${at}: argument ${arg} refers to $(${name}), which is not in its env`);
      }
    }
    if (w.kind === 'StatefulSet') {
      const service = named('Service', w.spec.serviceName);
      if (!service) findings.push(`${where}: serviceName ${w.spec.serviceName} is not a Service`);
      else if (service.spec?.clusterIP !== 'None')
        findings.push(
          `${where}: serviceName ${w.spec.serviceName} is not a headless Service (clusterIP: None)`,
        );
      else if (!selects(service.spec.selector, labels))
        findings.push(
          `${where}: its governing Service ${w.spec.serviceName} does not select its pods`,
        );
    }
  }

  for (const s of ofKind('Service')) {
    const targets = workloads.filter((w) => selects(s.spec?.selector, podLabels(w)));
    if (targets.length === 0) {
      findings.push(`${ref(s)}: selector ${JSON.stringify(s.spec?.selector)} selects no pods`);
      continue;
    }
    for (const p of s.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      for (const w of targets) {
        const ports = (podSpec(w).containers ?? []).flatMap((c: Json) => c.ports ?? []);
        const found = ports.some((cp: Json) =>
          typeof target === 'string' ? cp.name === target : cp.containerPort === target,
        );
        if (!found)
          findings.push(
            `${ref(s)}: port ${p.name ?? p.port} targets ${target}, which ${ref(w)}'s containers do not expose`,
          );
      }
    }
  }

  for (const pdb of ofKind('PodDisruptionBudget')) {
    if (!workloads.some((w) => selects(pdb.spec?.selector?.matchLabels, podLabels(w))))
      findings.push(
        `${ref(pdb)}: selector ${JSON.stringify(pdb.spec?.selector?.matchLabels)} selects no pods`,
      );
  }

  for (const sm of ofKind('ServiceMonitor')) {
    const services = ofKind('Service').filter((s) =>
      selects(sm.spec?.selector?.matchLabels, s.metadata.labels ?? {}),
    );
    if (services.length === 0)
      findings.push(
        `${ref(sm)}: selector ${JSON.stringify(sm.spec?.selector?.matchLabels)} selects no Service`,
      );
    for (const e of sm.spec?.endpoints ?? [])
      for (const s of services)
        if (!(s.spec?.ports ?? []).some((p: Json) => p.name === e.port))
          findings.push(`${ref(sm)}: endpoint port ${e.port} is not a port of ${ref(s)}`);
  }

  const topicPartitions = new Map<string, number>(
    ofKind('KafkaTopic').map((t) => [t.spec?.topicName ?? t.metadata.name, t.spec?.partitions]),
  );
  for (const so of ofKind('ScaledObject')) {
    const target = so.spec.scaleTargetRef;
    const workload = named(target.kind ?? 'Deployment', target.name);
    if (!workload)
      findings.push(`${ref(so)}: scaleTargetRef ${target.kind}/${target.name} does not exist`);
    for (const trigger of so.spec.triggers ?? []) {
      const auth = trigger.authenticationRef?.name;
      const authObject = auth === undefined ? undefined : named('TriggerAuthentication', auth);
      if (auth !== undefined && !authObject)
        findings.push(`${ref(so)}: authenticationRef ${auth} is not a TriggerAuthentication`);
      for (const e of authObject?.spec?.env ?? []) {
        const container =
          workload && podSpec(workload).containers?.find((c: Json) => c.name === e.containerName);
        if (!container)
          findings.push(
            `${ref(authObject!)}: env ${e.name}: ${target.kind}/${target.name} has no container ${e.containerName}`,
          );
        else if (!(container.env ?? []).some((v: Json) => v.name === e.name))
          findings.push(
            `${ref(authObject!)}: env ${e.name} is not in container ${e.containerName} of ${target.kind}/${target.name}`,
          );
      }
      for (const s of authObject?.spec?.secretTargetRef ?? [])
        checkSecret(`${ref(authObject!)} ${s.parameter}`, s.name, s.key);
      if (trigger.type !== 'kafka') continue;
      const partitions = topicPartitions.get(trigger.metadata.topic);
      if (partitions === undefined)
        findings.push(`${ref(so)}: trigger topic ${trigger.metadata.topic} is not a KafkaTopic`);
      else if (so.spec.maxReplicaCount > partitions)
        findings.push(
          `${ref(so)}: maxReplicaCount ${so.spec.maxReplicaCount} exceeds the ${partitions} partitions of ${trigger.metadata.topic} (the extra consumers would sit idle)`,
        );
    }
  }

  const clusters = new Set(
    objects
      .filter((o) => o.apiVersion.startsWith('kafka.strimzi.io/'))
      .map((o) => o.metadata.labels?.['strimzi.io/cluster']),
  );
  if (clusters.size > 1)
    findings.push(
      `Strimzi resources name different clusters (strimzi.io/cluster): ${[...clusters].join(', ')}`,
    );
  if (clusters.has(undefined)) findings.push('a Strimzi resource has no strimzi.io/cluster label');
  return findings;
}
