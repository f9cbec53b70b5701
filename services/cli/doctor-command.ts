import type { Command } from 'commander';

import { createLogger } from '../../shared/logging/logger.js';
import { renderJson, renderText } from '../doctor/render-report.js';
import { EXIT } from './options.js';

interface DoctorFlags {
  config?: string;
  brokers?: string;
  json?: boolean;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      "Check what rnnstream would run on here and tell how to fix what is wrong: the configuration and its model, the tensor backend and why, CUDA and the device TensorFlow would use, and with --brokers the Kafka cluster and the app's topics. One line per finding (ok / warn / FAIL) with its fix; exits 1 when a check failed, 0 otherwise (warnings included).",
    )
    .option(
      '--config <file>',
      'the model configuration to check (its `app` names the topics; default: all defaults)',
    )
    .option(
      '--brokers <list>',
      'also check the Kafka cluster at host:port[,host:port...] and the topics',
    )
    .option(
      '--json',
      'print one JSON object {ok, failures, warnings, findings: [{check, status, detail, fix}]}',
    )
    .action(async (flags: DoctorFlags) => {
      // kafkajs' own lines would interleave with the report: only its errors, unless asked for more.
      const logger = createLogger({
        name: 'doctor',
        level: process.env['RNNSTREAM_LOG_LEVEL'] || 'error',
      });
      // Loaded here, not at the top: TensorFlow.js stays out of commands that do not need it.
      const { runDoctor } = await import('../doctor/run-doctor.js');
      const report = await runDoctor({
        configPath: flags.config,
        brokers: flags.brokers,
        logger,
      });
      process.stdout.write(flags.json ? renderJson(report) : renderText(report));
      process.exitCode = report.failures > 0 ? EXIT.problemFound : 0;
    });
}
