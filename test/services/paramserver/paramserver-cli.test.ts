import assert from 'node:assert/strict';
import { test } from 'node:test';

import { spawnParamserver } from '../../support/paramserver/harness.js';

test('paramserver start-up errors exit with status 2 and name the value, the reason and the fix', async () => {
  const badBroker = spawnParamserver(['--brokers', 'http://kafka:9092']);
  assert.equal(await badBroker.exited, 2);
  assert.match(badBroker.output(), /brokers: "http:\/\/kafka:9092" is not host:port \(fix: /);

  const badModel = spawnParamserver(['--brokers', '127.0.0.1:1', '--model-id', 'a/b']);
  assert.equal(await badModel.exited, 2);
  assert.match(badModel.output(), /model id = "a\/b": not usable \(fix: 1 to 100 letters/);

  const badPort = spawnParamserver(['--brokers', '127.0.0.1:1', '--metrics-port', '70000']);
  assert.notEqual(await badPort.exited, 0);
  assert.match(badPort.output(), /--metrics-port must be a TCP port 0\.\.65535, got '70000'/);
});
