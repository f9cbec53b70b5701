import type { HostOptimizer } from './host-optimizer.js';
import { HostSlots } from './host-slots.js';

/** Adam (Kingma & Ba) with bias correction, in place on host arrays (see host-optimizer.ts). */
export function createHostAdam({
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon = 1e-8,
}: { beta1?: number; beta2?: number; epsilon?: number } = {}): HostOptimizer {
  const first = new HostSlots('m');
  const second = new HostSlots('v');
  let step = 0;
  return {
    type: 'adam',
    get step() {
      return step;
    },
    apply(params, gradients, { learningRate, gradientScale }) {
      step++;
      const stepSize = learningRate / (1 - beta1 ** step);
      const correction2 = 1 - beta2 ** step;
      for (const [name, g] of gradients) {
        const p = params.get(name)!;
        const m = first.get(name, p.length);
        const v = second.get(name, p.length);
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! * gradientScale;
          const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * gi);
          const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi);
          p[i] = p[i]! - (stepSize * mi) / (Math.sqrt(vi / correction2) + epsilon);
        }
      }
    },
    saveState() {
      const slots = new Map<string, Float32Array>();
      first.save(slots);
      second.save(slots);
      return { step, slots };
    },
    restoreState(state, params) {
      first.restore(state.slots, params);
      second.restore(state.slots, params);
      step = state.step;
    },
  };
}
