import type { HostOptimizer } from './host-optimizer.js';
import { HostSlots } from './host-slots.js';

/**
 * SGD with (PyTorch-style) momentum, in place on host arrays: v ← μ v + g; p ← p − lr v.
 * momentum 0 is plain SGD (no slot).
 */
export function createHostSgd({ momentum }: { momentum: number }): HostOptimizer {
  const velocity = new HostSlots('velocity');
  let step = 0;
  return {
    type: 'sgd',
    get step() {
      return step;
    },
    apply(params, gradients, { learningRate, gradientScale }) {
      for (const [name, g] of gradients) {
        const p = params.get(name)!;
        if (momentum > 0) {
          const v = velocity.get(name, p.length);
          for (let i = 0; i < p.length; i++) {
            const vi = (v[i] = momentum * v[i]! + g[i]! * gradientScale);
            p[i] = p[i]! - learningRate * vi;
          }
        } else {
          for (let i = 0; i < p.length; i++) p[i] = p[i]! - learningRate * (g[i]! * gradientScale);
        }
      }
      step++;
    },
    saveState() {
      const slots = new Map<string, Float32Array>();
      velocity.save(slots);
      return { step, slots };
    },
    restoreState(state, params) {
      velocity.restore(state.slots, params);
      step = state.step;
    },
  };
}
