/**
 * The ApiVersions v0 exchange doctor uses to read a broker's protocol versions: the response
 * format decoded from hand-written bytes, and the real broker's answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fetchBrokerApiVersions,
  kafkajsMismatches,
  parseApiVersionsResponse,
} from '../../../shared/transport/kafka/broker-api-versions.js';
import { getTestBroker } from '../../support/kafka/broker.js';

test('an ApiVersions v0 response decodes into each API key with its version range', () => {
  // correlation id 7, no error, 2 APIs: Produce v3-v9, ApiVersions v0-v3.
  const body = Buffer.from([0, 0, 0, 7, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 9, 0, 18, 0, 0, 0, 3]);
  assert.deepEqual(
    [...parseApiVersionsResponse(body, 7)],
    [
      [0, { min: 3, max: 9 }],
      [18, { min: 0, max: 3 }],
    ],
  );
  assert.throws(() => parseApiVersionsResponse(body, 8), /response for request 7, expected 8/);
  const error = Buffer.from([0, 0, 0, 7, 0, 35, 0, 0, 0, 0]);
  assert.throws(() => parseApiVersionsResponse(error, 7), /error code 35/);
});

test('a broker offering none of the APIs is reported as lacking each one rnnstream uses', () => {
  const mismatches = kafkajsMismatches(new Map());
  assert.equal(mismatches.length, 21);
  assert.deepEqual(mismatches[0], { api: 'Produce', reason: 'the broker does not offer it' });
});

test('the real broker answers with the APIs rnnstream needs, all usable by kafkajs', async () => {
  const broker = await getTestBroker();
  const [host, port] = broker.brokers[0]!.split(':');
  const versions = await fetchBrokerApiVersions({
    host: host!,
    port: Number(port),
    clientId: 'api-versions-test',
  });
  assert.ok(versions.get(0)!.max >= 7, 'Produce v7 or newer');
  assert.ok(versions.has(22), 'InitProducerId (transactions)');
  assert.deepEqual(kafkajsMismatches(versions), []);
  await broker.stop();
});
