import { createHostAdam } from './host-adam.js';
import type { HostOptimizer } from './host-optimizer.js';
import { createHostSgd } from './host-sgd.js';

export function createHostOptimizer({
  type,
  momentum,
}: {
  type: 'adam' | 'sgd';
  momentum: number;
}): HostOptimizer {
  return type === 'adam' ? createHostAdam() : createHostSgd({ momentum });
}
