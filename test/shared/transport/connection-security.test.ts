import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { parseConfig } from '../../../shared/config/index.js';
import { kafkaConnectionSettings } from '../../../shared/config/kafka-env.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { loadKafkaSecurity } from '../../../shared/transport/kafka/connection-security.js';
import { createKafkaClient } from '../../../shared/transport/kafka/index.js';
import { testCertificates } from '../../support/kafka/secured-broker.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnstream-connection-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const certs = testCertificates(join(dir, 'tls'));
const PASSWORD = 'correct-horse-battery-staple';
const passwordFile = join(dir, 'password');
writeFileSync(passwordFile, `${PASSWORD}\n`);

/** A pino destination keeping every line. */
function captureLines() {
  const lines: string[] = [];
  return { text: () => lines.join(''), write: (chunk: string) => void lines.push(chunk) };
}

const load = (kafka: unknown, env: NodeJS.ProcessEnv = {}) =>
  loadKafkaSecurity(
    kafkaConnectionSettings(parseConfig({ kafka }, { source: 'test' }).kafka, env),
    env,
  );

function configError(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error.message;
  }
  return assert.fail('no ConfigError');
}

test('TLS with a CA and an encrypted client key, and SCRAM with the password from a file', () => {
  const security = load({
    ssl: {
      enabled: true,
      caFile: certs.caFile,
      certFile: certs.clientCertFile,
      keyFile: certs.clientKeyFile,
      keyPasswordFile: certs.clientKeyPasswordFile,
    },
    sasl: { mechanism: 'scram-sha-512', username: 'alice', passwordFile },
  });
  assert.equal(security.description, "SASL_SSL, SCRAM-SHA-512 as 'alice', client certificate");
  assert.equal(security.principal, 'alice');
  assert.equal(security.ssl?.passphrase, certs.clientKeyPassword);
  assert.equal(security.ssl?.rejectUnauthorized, true);
  assert.deepEqual(security.warnings, []);
  // kafkajs keeps the `sasl` object: the password is not one of its fields.
  assert.equal(security.sasl?.mechanism, 'scram-sha-512');
  assert.ok(!JSON.stringify(security.sasl).includes(PASSWORD));
});

test('a wrong or missing key passphrase fails at start-up, naming the key setting and the fix', () => {
  const wrong = join(dir, 'wrong-passphrase');
  writeFileSync(wrong, 'not-the-passphrase');
  for (const keyPasswordFile of [wrong, undefined]) {
    const message = configError(() =>
      load({
        ssl: {
          enabled: true,
          certFile: certs.clientCertFile,
          keyFile: certs.clientKeyFile,
          ...(keyPasswordFile === undefined ? {} : { keyPasswordFile }),
        },
      }),
    );
    assert.match(
      message,
      /kafka\.ssl\.keyFile\) is encrypted and the passphrase is missing or wrong/,
    );
    assert.ok(!message.includes('not-the-passphrase'));
  }
});

test('a missing file names the setting and the path; a key pasted in place of a path is not repeated', () => {
  assert.match(
    configError(() =>
      load({}, { RNNSTREAM_KAFKA_SSL: '1', RNNSTREAM_KAFKA_SSL_CA_FILE: join(dir, 'nope.pem') }),
    ),
    /RNNSTREAM_KAFKA_SSL_CA_FILE = .*nope\.pem: the CA certificate cannot be read \(no such file\)/,
  );
  const pasted = configError(() =>
    load({
      ssl: {
        enabled: true,
        certFile: certs.clientCertFile,
        keyFile: '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG',
      },
    }),
  );
  assert.match(
    pasted,
    /kafka\.ssl\.keyFile: the value is not a path but looks like the client key/,
  );
  assert.ok(!pasted.includes('MIGHAgEAMBMG'));
  assert.match(
    configError(() =>
      load({ sasl: { mechanism: 'plain', username: 'a' } }, { RNNSTREAM_KAFKA_SASL_PASSWORD: '' }),
    ),
    /needs a password/,
  );
});

test('weakened settings are allowed with a warning: no certificate check, SASL without TLS', () => {
  const unchecked = load({ ssl: { enabled: true, rejectUnauthorized: false } });
  assert.equal(unchecked.description, 'SSL');
  assert.match(
    unchecked.warnings.join('\n'),
    /rejectUnauthorized is false: any broker certificate is accepted/,
  );
  const plain = load(
    {},
    {
      RNNSTREAM_KAFKA_SASL_MECHANISM: 'plain',
      RNNSTREAM_KAFKA_SASL_USERNAME: 'u',
      RNNSTREAM_KAFKA_SASL_PASSWORD: PASSWORD,
    },
  );
  assert.equal(plain.description, "SASL_PLAINTEXT, PLAIN as 'u'");
  assert.match(
    plain.warnings.join('\n'),
    /SASL PLAIN without TLS: the password crosses the network unencrypted/,
  );
});

test('the logger redacts password and passphrase fields wherever a configuration object would put them', () => {
  const sink = captureLines();
  const logger = createLogger({ name: 'redaction', level: 'debug', destination: sink });
  logger.info({ sasl: { mechanism: 'plain', username: 'u', password: PASSWORD } }, 'a');
  logger.info({ password: PASSWORD, ssl: { key: 'PRIVATE', passphrase: PASSWORD } }, 'b');
  logger.info({ config: { sasl: { password: PASSWORD } } }, 'c');
  const text = sink.text();
  assert.ok(!text.includes(PASSWORD), text);
  assert.ok(!text.includes('PRIVATE'), text);
  assert.equal(text.match(/\[redacted\]/g)?.length, 5);
  assert.match(text, /"username":"u"/);
});

test('a client with SASL from the environment says how it connects, without the password', () => {
  const sink = captureLines();
  const client = createKafkaClient({
    clientId: 'security-description',
    brokers: '127.0.0.1:1',
    logger: createLogger({ name: 'c', level: 'debug', destination: sink }),
    env: {
      RNNSTREAM_KAFKA_SSL: 'true',
      RNNSTREAM_KAFKA_SSL_CA_FILE: certs.caFile,
      RNNSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-256',
      RNNSTREAM_KAFKA_SASL_USERNAME: 'carol',
      RNNSTREAM_KAFKA_SASL_PASSWORD: PASSWORD,
    },
  });
  assert.deepEqual(client.security, {
    description: "SASL_SSL, SCRAM-SHA-256 as 'carol'",
    principal: 'carol',
  });
  assert.ok(!JSON.stringify(client.security).includes(PASSWORD));
});
