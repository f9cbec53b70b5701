import { Gauge, type Registry } from 'prom-client';

/** Factor the latest round's average gradient was scaled by (clip.globalNorm / norm; 1 = not clipped). */
export function clipRatio(registry: Registry): Gauge {
  return new Gauge({
    name: 'rnnstream_paramserver_clip_ratio',
    help: 'Scale applied to the latest round average gradient by global-norm clipping (clip.globalNorm / pre-clip norm, 1 when not clipped).',
    registers: [registry],
  });
}
