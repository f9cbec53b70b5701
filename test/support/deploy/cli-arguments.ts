/**
 * Checks a container's arguments against rnnstream's real command line (services/cli/program.ts):
 * the subcommand exists, every --option is one it declares, and its mandatory options are given.
 * Deployment files then break in a test, not at a pod's start, when an option is renamed.
 */
import type { Command } from 'commander';

import { buildProgram } from '../../../services/cli/program.js';

export function cliFindings(args: readonly string[]): string[] {
  const [name, ...rest] = args;
  const command: Command | undefined = buildProgram().commands.find((c) => c.name() === name);
  if (!command) return [`'${name}' is not an rnnstream command`];
  const declared = new Set(command.options.map((o) => o.long));
  const given = rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
  const findings = given
    .filter((option) => !declared.has(option))
    .map((option) => `rnnstream ${name}: unknown option ${option}`);
  for (const option of command.options)
    if (option.mandatory && !given.includes(option.long!))
      findings.push(`rnnstream ${name}: mandatory option ${option.long} is missing`);
  return findings;
}

/** The value of `--option=value` or `--option value` in `args`, if given. */
export function optionValue(args: readonly string[], option: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === option) return args[i + 1];
    if (args[i]!.startsWith(`${option}=`)) return args[i]!.slice(option.length + 1);
  }
  return undefined;
}
