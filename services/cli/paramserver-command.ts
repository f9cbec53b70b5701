import type { Command } from 'commander';

import { defaultConfig, loadConfigFile } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { DEFAULT_MODEL_ID } from '../../shared/paramserver-client/index.js';
import { runParamserverUntilStopped } from '../paramserver/run-paramserver.js';
import { exitWhenStopped } from './exit-when-stopped.js';
import { count, EXIT, port } from './options.js';

interface ParamserverFlags {
  config?: string;
  brokers: string;
  checkpointDir?: string;
  init?: string;
  metricsPort?: number;
  metricsHost: string;
  modelId: string;
  partitions: number;
  replicationFactor: number;
}

export function registerParamserverCommand(program: Command): void {
  program
    .command('paramserver')
    .description(
      'Parameter service: averages worker gradients (token-weighted), clips by global norm, applies the optimizer and publishes every version to <app>.params; restarts continue bit-exactly from --checkpoint-dir.',
    )
    .option('--config <file>', 'model configuration (JSON); defaults apply to every missing key')
    .requiredOption('--brokers <host:port,...>', 'Kafka bootstrap brokers')
    .option(
      '--checkpoint-dir <dir>',
      'keep the full state here (parameters, optimizer moments, version, worker progress, gradient offsets); a restart resumes bit-exactly',
    )
    .option('--init <file>', 'initial parameters (a parameter file) at the very first start')
    .option(
      '--metrics-port <n>',
      'serve Prometheus /metrics and the /healthz and /readyz probes on this port; 0 picks a free port',
      port('--metrics-port'),
    )
    .option(
      '--metrics-host <address>',
      'address the metrics server listens on (with --metrics-port)',
      '0.0.0.0',
    )
    .option('--model-id <id>', 'model id on the params topic', DEFAULT_MODEL_ID)
    .option(
      '--partitions <n>',
      'partitions of topics this command creates (existing topics are kept)',
      count('--partitions', { example: 6 }),
      6,
    )
    .option(
      '--replication-factor <n>',
      'replication factor of topics this command creates',
      count('--replication-factor', { example: 1 }),
      1,
    )
    .action(async (flags: ParamserverFlags) => {
      const logger = createLogger({ name: 'paramserver' });
      const config = flags.config ? await loadConfigFile(flags.config) : defaultConfig();
      const abort = new AbortController();
      const stop = (signal: string) => {
        if (abort.signal.aborted) process.exit(EXIT.interrupted); // second signal: leave now
        logger.info({ signal }, 'signal received');
        abort.abort();
      };
      process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));
      const summary = await runParamserverUntilStopped({
        config,
        brokers: flags.brokers,
        logger,
        checkpointDir: flags.checkpointDir,
        initPath: flags.init,
        metricsPort: flags.metricsPort,
        metricsHost: flags.metricsHost,
        modelId: flags.modelId,
        partitions: flags.partitions,
        replicationFactor: flags.replicationFactor,
        signal: abort.signal,
      });
      process.stdout.write(JSON.stringify(summary) + '\n');
      exitWhenStopped(logger);
    });
}
