import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mallocTuningHint,
  PARAMSERVER_MALLOC_ENV,
} from '../../../services/paramserver/process-tuning.js';

test('the paramserver names the glibc malloc settings it misses on Linux, and only there', () => {
  const hint = mallocTuningHint({}, 'linux');
  assert.match(hint ?? '', /MALLOC_TRIM_THRESHOLD_=2147483648 MALLOC_MMAP_THRESHOLD_=33554432/);
  assert.equal(mallocTuningHint({ ...PARAMSERVER_MALLOC_ENV }, 'linux'), undefined);
  assert.notEqual(mallocTuningHint({ MALLOC_TRIM_THRESHOLD_: '1' }, 'linux'), undefined);
  assert.equal(mallocTuningHint({}, 'darwin'), undefined);
});
