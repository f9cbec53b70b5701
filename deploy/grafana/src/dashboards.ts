import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { decoderDashboard } from './decoder-dashboard.js';
import { learningDashboard } from './learning-dashboard.js';
import { parametersDashboard } from './parameters-dashboard.js';
import { stateDashboard } from './state-dashboard.js';
import { throughputDashboard } from './throughput-dashboard.js';

export interface DashboardOptions {
  /** input.vocabSize of the deployed model: the uniform baseline is log2 of it. */
  readonly vocabSize?: number;
}

/** Every dashboard of deploy/grafana/dashboards, by file name. */
export function rnnstreamDashboards(options: DashboardOptions = {}): Map<string, DashboardBuilder> {
  return new Map([
    ['rnnstream-learning.json', learningDashboard(options)],
    ['rnnstream-throughput.json', throughputDashboard()],
    ['rnnstream-state.json', stateDashboard()],
    ['rnnstream-parameters.json', parametersDashboard()],
    ['rnnstream-decoder.json', decoderDashboard()],
  ]);
}

/** A dashboard as its file holds it: Grafana's JSON model, two-space indented, one final newline. */
export function dashboardFileText(builder: DashboardBuilder): string {
  return JSON.stringify(builder.build(), null, 2) + '\n';
}
