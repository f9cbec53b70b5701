/**
 * deploy/docker-compose.yml is a valid Compose file and wires the system together: validated
 * against the Compose Specification's JSON schema (vendored from github.com/compose-spec/compose-spec,
 * schema/compose-spec.json at commit a08f8d51631b7127ddac3d2c65537db429d0f1d0, 2025-10-21,
 * Apache-2.0), with every rnnstream service's arguments checked against the real command line.
 * No Docker engine runs here, so nothing is started.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Ajv } from 'ajv';
import { parse } from 'yaml';

import { parseConfig } from '../../shared/config/index.js';
import { PARAMSERVER_MALLOC_ENV } from '../../services/paramserver/process-tuning.js';
import { cliFindings, optionValue } from '../support/deploy/cli-arguments.js';
import type { Json } from '../support/deploy/k8s-objects.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const composeDir = path.join(root, 'deploy');
const compose: Json = parse(readFileSync(path.join(composeDir, 'docker-compose.yml'), 'utf8'), {
  merge: true,
});
const schema = JSON.parse(
  readFileSync(path.join(root, 'test', 'support', 'deploy', 'compose-spec.json'), 'utf8'),
);
/** A validator of the schema; it declares draft-07 by an https URL, which Ajv knows as http. */
function composeValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const draft07 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json');
  ajv.addMetaSchema(draft07, schema.$schema);
  return ajv.compile(schema);
}
/** Bind-mount sources that later work of issue 18 fills (Prometheus and Grafana provisioning). */
const PENDING_SOURCES = ['grafana'];

const services: Record<string, Json> = compose.services;
const rnnstream = Object.entries(services).filter(([, s]) => s.image?.startsWith('rnnstream'));

describe('deploy/docker-compose.yml', () => {
  it('is valid under the Compose Specification schema', () => {
    const validate = composeValidator();
    const valid = validate(compose);
    assert.ok(valid, JSON.stringify(validate.errors, null, 2));
  });

  it('the schema check catches a misspelt service key', () => {
    const validate = composeValidator();
    const broken = structuredClone(compose);
    broken.services.decoder.depend_on = broken.services.decoder.depends_on;
    assert.equal(validate(broken), false);
    assert.ok(
      validate.errors!.some(
        (e) => e.params && (e.params as Json).additionalProperty === 'depend_on',
      ),
      JSON.stringify(validate.errors),
    );
  });

  it('runs a KRaft Kafka, the paramserver, two workers, a decoder, Prometheus and Grafana', () => {
    const commands = rnnstream.map(([, s]) => s.command[0]).sort();
    assert.deepEqual(commands, ['decoder', 'paramserver', 'worker', 'worker']);
    assert.equal(services.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.match(services.prometheus.image, /^prom\/prometheus:/);
    assert.match(services.grafana.image, /^grafana\/grafana:/);
  });

  it('starts every rnnstream service with options its command declares', () => {
    for (const [name, s] of rnnstream) assert.deepEqual(cliFindings(s.command), [], name);
  });

  it('gives the workers distinct ids and every service the same broker and partitions', () => {
    const workers = rnnstream.filter(([, s]) => s.command[0] === 'worker');
    const ids = workers.map(([, s]) => optionValue(s.command, '--worker-id'));
    assert.equal(new Set(ids).size, workers.length, `worker ids ${ids}`);
    for (const [name, s] of rnnstream) {
      assert.equal(optionValue(s.command, '--brokers'), 'kafka:9092', name);
      assert.equal(optionValue(s.command, '--partitions'), '4', name);
    }
  });

  it('health-checks each rnnstream service on its metrics port', () => {
    for (const [name, s] of rnnstream) {
      const port = optionValue(s.command, '--metrics-port');
      assert.ok(s.healthcheck.test.join(' ').includes(`127.0.0.1:${port}/healthz`), name);
    }
  });

  it('keeps the paramserver checkpoints on a volume and sets its malloc tuning', () => {
    const ps = services.paramserver;
    const dir = optionValue(ps.command, '--checkpoint-dir');
    const volume = ps.volumes.find((v: string) => v.endsWith(`:${dir}`))?.split(':')[0];
    assert.ok(volume && volume in compose.volumes, `a named volume at ${dir}`);
    for (const [key, value] of Object.entries(PARAMSERVER_MALLOC_ENV))
      assert.equal(ps.environment?.[key], value, key);
  });

  it('mounts a model configuration that the config schema accepts, at the --config path', () => {
    for (const [name, s] of rnnstream) {
      const config = optionValue(s.command, '--config');
      const mount = s.volumes.find((v: string) => v.split(':')[1] === config);
      assert.ok(mount, `${name} mounts ${config}`);
      const file = path.resolve(composeDir, mount.split(':')[0]);
      parseConfig(JSON.parse(readFileSync(file, 'utf8')), { source: file });
    }
  });

  it('depends only on services it defines, and bind-mounts files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) assert.ok(dep in services, `${name} depends on ${dep}`);
      for (const volume of s.volumes ?? []) {
        const source = String(volume).split(':')[0]!;
        if (!source.startsWith('.') || PENDING_SOURCES.includes(path.basename(source))) continue;
        assert.ok(existsSync(path.resolve(composeDir, source)), `${name} mounts ${source}`);
      }
    }
  });
});
