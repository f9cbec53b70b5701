/**
 * What a service's `/healthz` and `/readyz` answer (Kubernetes liveness and readiness probes).
 *
 * Readiness is a set of named conditions the service's parts set as they get there — "the group
 * is joined", "the assigned partitions are restored", "parameters are loaded" — and withdraw when
 * they lose it (a rebalance starts another restore). Health fails only for what a restart may
 * cure: a part that has kept failing for longer than `unhealthyAfterMs` (a Kafka client that
 * cannot reconnect; shorter outages are retried with back-off and only make the service unready).
 * An error the service cannot go on from ends the process, and a stuck event loop never answers
 * at all, which the probe's timeout reports: so an answer is itself the proof that the loop runs.
 */
export interface ProbeAnswer {
  readonly ok: boolean;
  /** One line per condition not met (readiness) or per failure (health). */
  readonly reasons: readonly string[];
}

export interface Probes {
  health(): ProbeAnswer;
  readiness(): ProbeAnswer;
}

export interface ServiceProbesOptions {
  /**
   * The conditions readiness needs, each with what is awaited until it is met. A service declares
   * them all at start-up, so /readyz is 503 until each part says it is done.
   */
  readonly conditions?: Readonly<Record<string, string>>;
  /** How long a part may keep failing before /healthz fails (default 5 minutes). */
  readonly unhealthyAfterMs?: number;
  readonly now?: () => number;
}

export class ServiceProbes implements Probes {
  /** condition → why it is not met yet (absent: met). Insertion order = report order. */
  private readonly waiting = new Map<string, string>();
  /** part → since when it fails, and the latest reason. */
  private readonly failing = new Map<string, { sinceMs: number; reason: string }>();
  private readonly unhealthyAfterMs: number;
  private readonly now: () => number;

  constructor({
    conditions = {},
    unhealthyAfterMs = 300_000,
    now = Date.now,
  }: ServiceProbesOptions = {}) {
    for (const [name, awaiting] of Object.entries(conditions)) this.waiting.set(name, awaiting);
    this.unhealthyAfterMs = unhealthyAfterMs;
    this.now = now;
  }

  /** The condition holds (again). */
  met(name: string): void {
    this.waiting.delete(name);
  }

  /** The condition no longer holds: `awaiting` says what the service waits for. */
  unmet(name: string, awaiting: string): void {
    this.waiting.set(name, awaiting);
  }

  /** The part failed (again); it is retried. The first failure of a run starts its clock. */
  failed(part: string, reason: string): void {
    const since = this.failing.get(part)?.sinceMs ?? this.now();
    this.failing.set(part, { sinceMs: since, reason });
  }

  /** The part works again (e.g. a batch committed after a Kafka outage). */
  recovered(part: string): void {
    this.failing.delete(part);
  }

  health(): ProbeAnswer {
    const now = this.now();
    const reasons = [...this.failing]
      .filter(([, { sinceMs }]) => now - sinceMs >= this.unhealthyAfterMs)
      .map(
        ([part, f]) =>
          `${part}: failing for ${Math.round((now - f.sinceMs) / 1000)} s: ${f.reason}`,
      );
    return { ok: reasons.length === 0, reasons };
  }

  readiness(): ProbeAnswer {
    const reasons = [
      ...[...this.failing].map(([part, { reason }]) => `${part}: failing: ${reason}`),
      ...[...this.waiting].map(([name, awaiting]) => `${name}: ${awaiting}`),
    ];
    return { ok: reasons.length === 0, reasons };
  }
}
