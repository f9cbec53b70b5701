import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerBenchCommand } from './bench-command.js';
import { registerDecodeCommand } from './decode-command.js';
import { registerDecoderCommand } from './decoder-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerGenerateCommand } from './generate-command.js';
import { registerParamserverCommand } from './paramserver-command.js';
import { registerProduceCommand } from './produce-command.js';
import { registerRunCommand } from './run-command.js';
import { registerTransduceCommand } from './transduce-command.js';
import { registerWorkerCommand } from './worker-command.js';

/**
 * `rnnstream`: one binary, one subcommand per service or tool (docs/design.md §7). The only module that
 * knows the subcommands; what they share (option parsers, exit codes) is in ./options.ts.
 */
export function buildProgram(): Command {
  const { version } = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  const program = new Command('rnnstream')
    .description(
      'Streaming online learner for recurrent networks: per-key state, truncated BPTT, prequential predictions.',
    )
    .version(version)
    .showHelpAfterError('(run with --help for usage)');
  registerRunCommand(program);
  registerGenerateCommand(program);
  registerTransduceCommand(program);
  registerBenchCommand(program);
  registerWorkerCommand(program);
  registerParamserverCommand(program);
  registerProduceCommand(program);
  registerDecoderCommand(program);
  registerDecodeCommand(program);
  registerDoctorCommand(program);
  return program;
}
