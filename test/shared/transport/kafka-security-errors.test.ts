import assert from 'node:assert/strict';
import { test } from 'node:test';

import kafkajs from '../../../shared/transport/kafka/kafkajs.js';
import {
  KafkaSecurityError,
  KafkaTransportError,
  wrapKafkaError,
} from '../../../shared/transport/kafka/index.js';

const { KafkaJSProtocolError, KafkaJSConnectionError, KafkaJSSASLAuthenticationError } =
  kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>;

/** The error a broker's refusal of `type` becomes in kafkajs. */
const refused = (type: string, code: number) =>
  new KafkaJSProtocolError!({ message: `${type} refused`, type, code, retriable: false });

const brokers = ['10.0.0.1:9093'];

test('each authorization failure says which ACL of which principal on which resource is missing', () => {
  const cases = [
    {
      error: refused('TOPIC_AUTHORIZATION_FAILED', 29),
      context: { action: 'send 3 records', topic: 'demo.predictions' },
      rule: "--operation Write --operation Describe --topic 'demo.predictions'",
    },
    {
      error: refused('TOPIC_AUTHORIZATION_FAILED', 29),
      context: { action: 'start consuming', topic: 'demo.events', groupId: 'demo.workers' },
      rule: "--operation Read --operation Describe --topic 'demo.events'",
    },
    {
      error: refused('GROUP_AUTHORIZATION_FAILED', 30),
      context: { action: 'start consuming', topic: 'demo.events', groupId: 'demo.workers' },
      rule: "--operation Read --operation Describe --group 'demo.workers'",
    },
    {
      error: refused('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53),
      context: {
        action: 'connect the transactional producer',
        transactionalId: 'demo.workers.demo.events.3',
      },
      rule: "--operation Write --operation Describe --transactional-id 'demo.workers.demo.events.3'",
    },
  ];
  for (const { error, context, rule } of cases) {
    const wrapped = wrapKafkaError(error, { ...context, brokers, principal: 'alice' });
    assert.ok(wrapped instanceof KafkaSecurityError, wrapped.message);
    assert.equal(wrapped.retriable, false);
    assert.match(wrapped.message, /as User:alice/);
    assert.ok(
      wrapped.message.includes(
        `User:alice needs an ACL: kafka-acls.sh --bootstrap-server 10.0.0.1:9093 --command-config <admin.properties> --add --allow-principal User:alice ${rule}`,
      ),
      wrapped.message,
    );
  }
  // Without SASL there is no user name to put in the rule: the message says where it comes from.
  const anonymous = wrapKafkaError(refused('GROUP_AUTHORIZATION_FAILED', 30), {
    action: 'commit',
    brokers,
    groupId: 'g',
  });
  assert.match(anonymous.message, /--allow-principal User:<kafka\.sasl\.username>/);
});

test('a refused SASL login or an untrusted certificate is a non-retriable security error with its fix', () => {
  const login = wrapKafkaError(
    new KafkaJSSASLAuthenticationError!(
      "SASL SCRAM-SHA-512 login as user 'alice' refused by 10.0.0.1:9093: invalid credentials",
    ),
    { action: 'connect the producer', brokers, principal: 'alice' },
  );
  assert.ok(login instanceof KafkaSecurityError);
  assert.match(
    login.message,
    /fix: check the user and password \(the user name is kafka\.sasl\.username/,
  );

  const mechanism = wrapKafkaError(
    new KafkaJSSASLAuthenticationError!(
      'SASL SCRAM-SHA-256 mechanism is not supported by the server',
    ),
    { action: 'connect the producer', brokers },
  );
  assert.match(mechanism.message, /set kafka\.sasl\.mechanism \(RNNSTREAM_KAFKA_SASL_MECHANISM\)/);

  // kafkajs marks connection errors retriable; a certificate failure is not, whatever it says.
  const untrusted = new KafkaJSConnectionError!(
    'Connection error: self-signed certificate in certificate chain',
    { broker: brokers[0], code: 'SELF_SIGNED_CERT_IN_CHAIN' },
  );
  const wrapped = wrapKafkaError(untrusted, { action: 'connect the admin client', brokers });
  assert.ok(wrapped instanceof KafkaSecurityError);
  assert.equal(wrapped.retriable, false);
  assert.doesNotMatch(wrapped.message, /\(retriable\)/);
  assert.match(wrapped.message, /give the CA that signed it with kafka\.ssl\.caFile/);

  const wrongName = wrapKafkaError(
    new KafkaJSConnectionError!(
      "Connection error: Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1",
      { broker: brokers[0], code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    ),
    { action: 'connect the admin client', brokers },
  );
  assert.match(wrongName.message, /set kafka\.ssl\.serverName/);

  // An unreachable broker stays what it was: a retriable transport error, not a security one.
  const down = wrapKafkaError(
    new KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 10.0.0.1:9093', {
      broker: brokers[0],
      code: 'ECONNREFUSED',
    }),
    { action: 'connect the admin client', brokers },
  );
  assert.ok(down instanceof KafkaTransportError && !(down instanceof KafkaSecurityError));
  assert.equal(down.retriable, true);
});
