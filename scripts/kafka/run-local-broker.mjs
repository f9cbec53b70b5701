#!/usr/bin/env node
/**
 * `npm run kafka:local` — a local single-node Kafka broker (KRaft, 127.0.0.1, fresh data every run)
 * in the foreground until Ctrl-C / SIGTERM. See local-broker.mjs.
 *
 *   node scripts/kafka/run-local-broker.mjs                       start; prints KAFKA_BROKERS=127.0.0.1:<port>
 *   node scripts/kafka/run-local-broker.mjs --port 9092           a fixed port (also: KAFKA_PORT=9092)
 *   node scripts/kafka/run-local-broker.mjs --log-dir DIR         keep data and broker.log in DIR (new or empty)
 *   node scripts/kafka/run-local-broker.mjs --ready-file FILE     also write KAFKA_BROKERS=... to FILE when ready
 *   node scripts/kafka/run-local-broker.mjs --prepare             only collect the jars (CI install step)
 *   node scripts/kafka/run-local-broker.mjs --secure              SASL_SSL only, with ACLs: also prints
 *       the RNNSTREAM_KAFKA_* lines that connect as its super user `admin` (fresh certificates
 *       and password in a temporary directory, removed on stop)
 *
 * stdout carries only the KAFKA_BROKERS=... line (and with --secure the RNNSTREAM_KAFKA_* lines);
 * progress goes to stderr.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createTestCertificates } from './certificates.mjs';
import { KAFKA_VERSION, prepareKafkaJars, startLocalBroker } from './local-broker.mjs';

const usage = `usage: run-local-broker.mjs [--prepare] [--port N] [--log-dir DIR] [--ready-file FILE] [--secure]`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      prepare: { type: 'boolean', default: false },
      port: { type: 'string' },
      'log-dir': { type: 'string' },
      'ready-file': { type: 'string' },
      secure: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  process.stderr.write(`${error.message}\n${usage}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const log = (message) => process.stderr.write(`[kafka] ${message}\n`);

if (values.prepare) {
  try {
    const { libsDir, downloaded, seconds } = await prepareKafkaJars({ log });
    log(
      `Kafka ${KAFKA_VERSION} jars ${downloaded ? 'collected' : 'already cached'} in ${libsDir} (${seconds.toFixed(1)} s)`,
    );
    process.exit(0);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}

let port;
if (values.port !== undefined) {
  port = Number(values.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) {
    log(
      `--port ${values.port}: not a port number (fix: an integer 1..65535, or leave it out for a free port)`,
    );
    process.exit(2);
  }
}

let broker;
let signals = 0;
const shutdown = async (signal) => {
  signals += 1;
  if (signals > 1) {
    log(`${signal} again: exiting now (the watchdog kills the broker)`);
    process.exit(130);
  }
  log(`${signal}: stopping the broker ...`);
  if (broker) await broker.stop();
  if (values['ready-file']) fs.rmSync(values['ready-file'], { force: true });
  log('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

/** --secure: certificates and the admin's password, and the variables that connect with them. */
function secureSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnstream-kafka-secure-'));
  const tls = createTestCertificates({ dir: path.join(dir, 'tls') });
  const admin = { name: 'admin', password: randomBytes(16).toString('hex') };
  const passwordFile = path.join(dir, 'admin.password');
  fs.writeFileSync(passwordFile, `${admin.password}\n`, { mode: 0o600 });
  const env = {
    RNNSTREAM_KAFKA_SSL: 'true',
    RNNSTREAM_KAFKA_SSL_CA_FILE: tls.caFile,
    RNNSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    RNNSTREAM_KAFKA_SASL_USERNAME: admin.name,
    RNNSTREAM_KAFKA_SASL_PASSWORD_FILE: passwordFile,
  };
  return { dir, security: { tls, admin, users: [], clientAuth: 'none' }, env };
}

const secure = values.secure ? secureSetup() : undefined;
const removeSecureDir = () => secure && fs.rmSync(secure.dir, { recursive: true, force: true });
process.on('exit', removeSecureDir);

try {
  broker = await startLocalBroker({
    port,
    logDir: values['log-dir'],
    log,
    ...(secure ? { security: secure.security } : {}),
  });
} catch (error) {
  log(error.message);
  process.exit(1);
}
if (signals > 0) {
  await broker.stop();
  process.exit(0);
}
const lines = [
  `KAFKA_BROKERS=${broker.brokers}`,
  ...Object.entries(secure?.env ?? {}).map(([name, value]) => `${name}=${value}`),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values['ready-file']) {
  const file = values['ready-file'];
  fs.writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
if (secure)
  log(
    'SASL_SSL only, StandardAuthorizer: the admin user above is a super user; other principals need ACLs (kafka-acls.sh, or kafkajs admin.createAcls)',
  );
log(`broker log: ${broker.runDir}/broker.log — Ctrl-C to stop`);
// Stay in the foreground; the signal handlers end the process.
setInterval(() => {}, 1 << 30);
