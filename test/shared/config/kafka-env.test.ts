import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseConfig } from '../../../shared/config/index.js';
import { KAFKA_ENV, kafkaConnectionSettings } from '../../../shared/config/kafka-env.js';
import { ConfigError } from '../../../shared/errors/index.js';

const kafkaSection = (kafka: unknown) => parseConfig({ kafka }, { source: 'test' }).kafka;
const defaults = kafkaSection({});

test('without settings or variables the connection is plaintext without SASL', () => {
  const settings = kafkaConnectionSettings(defaults, {});
  assert.equal(settings.ssl, undefined);
  assert.equal(settings.sasl, undefined);
});

test('config keys alone give TLS and SASL, the password as a reference to its file', () => {
  const settings = kafkaConnectionSettings(
    kafkaSection({
      ssl: { enabled: true, caFile: '/etc/kafka/ca.pem', serverName: 'kafka.internal' },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', passwordFile: '/run/pw' },
    }),
    {},
  );
  assert.deepEqual(settings.ssl, {
    caFile: '/etc/kafka/ca.pem',
    rejectUnauthorized: true,
    serverName: 'kafka.internal',
  });
  assert.deepEqual(settings.sasl, {
    mechanism: 'scram-sha-512',
    username: 'alice',
    password: { from: 'file', path: '/run/pw', origin: 'kafka.sasl.passwordFile' },
  });
});

test('variables override the config keys, and the password variable is named, not copied', () => {
  const settings = kafkaConnectionSettings(
    kafkaSection({ sasl: { mechanism: 'plain', username: 'from-config', passwordFile: '/x' } }),
    {
      [KAFKA_ENV.sslEnabled.env]: 'true',
      [KAFKA_ENV.mechanism.env]: 'SCRAM-SHA-256',
      [KAFKA_ENV.username.env]: 'from-env',
      [KAFKA_ENV.passwordFile.env]: '/run/secrets/kafka/password',
    },
  );
  assert.deepEqual(settings.ssl, { rejectUnauthorized: true });
  assert.deepEqual(settings.sasl, {
    mechanism: 'scram-sha-256',
    username: 'from-env',
    password: {
      from: 'file',
      path: '/run/secrets/kafka/password',
      origin: 'RNNSTREAM_KAFKA_SASL_PASSWORD_FILE',
    },
  });
  const fromVariable = kafkaConnectionSettings(defaults, {
    RNNSTREAM_KAFKA_SASL_MECHANISM: 'plain',
    RNNSTREAM_KAFKA_SASL_USERNAME: 'bob',
    RNNSTREAM_KAFKA_SASL_PASSWORD: 'p4ss-w0rd',
  });
  assert.deepEqual(fromVariable.sasl?.password, {
    from: 'env',
    variable: 'RNNSTREAM_KAFKA_SASL_PASSWORD',
  });
  assert.ok(!JSON.stringify(fromVariable).includes('p4ss-w0rd'));
});

test('settings that cannot work together are one ConfigError naming each variable or key and its fix', () => {
  const message = (kafka: unknown, env: NodeJS.ProcessEnv): string => {
    try {
      kafkaConnectionSettings(kafkaSection(kafka), env);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return assert.fail('no ConfigError');
  };
  assert.match(
    message({ ssl: { caFile: '/ca.pem' } }, {}),
    /kafka\.ssl\.caFile set but TLS is off \(fix: set kafka\.ssl\.enabled to true/,
  );
  assert.match(
    message({}, { RNNSTREAM_KAFKA_SSL_CA_FILE: '/ca.pem' }),
    /RNNSTREAM_KAFKA_SSL_CA_FILE set but TLS is off/,
  );
  assert.match(
    message({ ssl: { enabled: true, certFile: '/c.pem' } }, {}),
    /kafka\.ssl\.certFile is set without its private key/,
  );
  assert.match(
    message({ sasl: { mechanism: 'scram-sha-512' } }, {}),
    /needs a user name[\s\S]*needs a password/,
  );
  assert.match(
    message({}, { RNNSTREAM_KAFKA_SASL_USERNAME: 'alice' }),
    /RNNSTREAM_KAFKA_SASL_USERNAME set but no SASL mechanism/,
  );
  assert.match(
    message(
      { sasl: { mechanism: 'plain', username: 'a', passwordFile: '/pw' } },
      { RNNSTREAM_KAFKA_SASL_PASSWORD: 'x' },
    ),
    /kafka\.sasl\.passwordFile and RNNSTREAM_KAFKA_SASL_PASSWORD both give the SASL password/,
  );
  assert.match(
    message({}, { RNNSTREAM_KAFKA_SASL_MECHANISM: 'gssapi' }),
    /RNNSTREAM_KAFKA_SASL_MECHANISM=gssapi: not a SASL mechanism/,
  );
  assert.match(message({}, { RNNSTREAM_KAFKA_SSL: 'maybe' }), /expected true or false/);
});

test('a password written into the config file is refused without repeating it', () => {
  for (const kafka of [
    { sasl: { mechanism: 'plain', username: 'a', password: 'hunter2-secret' } },
    { ssl: { enabled: true, key: '-----BEGIN PRIVATE KEY-----hunter2-secret' } },
  ]) {
    try {
      parseConfig({ kafka }, { source: 'cfg.json' });
      assert.fail('accepted an inline secret');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.message.includes('hunter2'), error.message);
      assert.match(error.message, /value not shown/);
      assert.match(error.message, /secrets are not read from the configuration file/);
    }
  }
});
