import type { Command } from 'commander';

import type { DecodeAsk } from '../../shared/codec/decode-codec.js';
import { readJsonlEvents } from '../../shared/events/index.js';
import type { StreamEvent } from '../../shared/events/stream-event.js';
import {
  addTransduceOptions,
  decodeTransduce,
  transduceOptionGiven,
  type TransduceFlags,
} from './decode-transduce.js';
import { printResult, targetOf, withDecoderClient } from './decoder-client-cli.js';
import { count, milliseconds, usageError } from './options.js';

interface DecodeFlags extends TransduceFlags {
  brokers: string;
  config?: string;
  app?: string;
  key?: string;
  tag?: boolean;
  classify?: boolean;
  forecast?: number;
  lastSteps?: number;
  events?: string;
  timeoutMs: number;
}

export function registerDecodeCommand(program: Command): void {
  const decode = program
    .command('decode')
    .description(
      "Ask the decoder service to tag, classify or forecast: the events of a file (JSON lines), or a sequence key's state (`--key`), or both (the events continue the key). Prints the result as one JSON line; an error result exits 2. `decode transduce`: target sequences for a source from a seq2seq model (greedy, or beam search with an n-best list), one hypothesis a line with its score.",
    )
    .argument(
      '[transduce]',
      'transduce a source with a seq2seq model (instead of --tag / --classify / --forecast)',
    )
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port[,host:port...]')
    .option('--config <file>', 'the model configuration (its `app` names the topics)')
    .option('--app <id>', 'the app id (instead of --config)')
    .option('--tag', 'per-step labels with their probabilities')
    .option('--classify', 'the class distribution of the whole sequence')
    .option(
      '--forecast <n>',
      'the next n feature vectors, each fed back as the next input',
      count('--forecast', { example: 10 }),
    )
    .option('--key <key>', "start from this sequence key's current state")
    .option(
      '--last-steps <n>',
      "with --tag --key and no --events: tag the key's last n steps",
      count('--last-steps', { example: 8 }),
    )
    .option(
      '--events <file>',
      'JSON-lines events (the event format; their keys are not used) to tag / classify / continue',
    )
    .option(
      '--timeout-ms <ms>',
      'how long to wait for the result (also the request deadline)',
      milliseconds('--timeout-ms', { example: 30_000 }),
      30_000,
    );
  addTransduceOptions(decode).action(
    async (task: string | undefined, flags: DecodeFlags, command: Command) => {
      if (task !== undefined && task !== 'transduce')
        usageError(
          command,
          `unknown request type '${task}': write \`decode transduce\`, or decode with --tag, --classify or --forecast N`,
        );
      const stray = [
        flags.tag,
        flags.classify,
        flags.forecast,
        flags.key,
        flags.lastSteps,
        flags.events,
      ];
      if (task === 'transduce') {
        if (stray.some((v) => v !== undefined))
          usageError(
            command,
            'decode transduce takes a source, not --tag / --classify / --forecast / --key / --last-steps / --events (a seq2seq model keeps no per-key state)',
          );
        return decodeTransduce(flags, command);
      }
      const transduceOnly = transduceOptionGiven(flags);
      if (transduceOnly !== undefined)
        usageError(
          command,
          `${transduceOnly} is an option of \`decode transduce\` (fix: write \`rnnstream decode transduce ...\`)`,
        );
      const chosen = [flags.tag, flags.classify, flags.forecast !== undefined].filter(Boolean);
      if (chosen.length !== 1)
        usageError(command, 'choose exactly one of --tag, --classify and --forecast N');
      if (flags.events === undefined && flags.key === undefined)
        usageError(command, 'give --events FILE, --key KEY, or both');
      const { app, kafka } = await targetOf(flags, command);
      const events = flags.events === undefined ? [] : await eventsOf(flags.events);
      const ask: DecodeAsk = flags.tag
        ? { kind: 'tag', events, lastSteps: flags.lastSteps ?? 0 }
        : flags.classify
          ? { kind: 'classify', events }
          : { kind: 'forecast', steps: flags.forecast!, events };
      await withDecoderClient(
        { brokers: flags.brokers, app, kafka, name: 'decode' },
        async (client) => {
          const result = await client.request(
            { key: flags.key, ask, deadlineMs: Date.now() + flags.timeoutMs },
            { timeoutInMs: flags.timeoutMs + 5_000 },
          );
          printResult(result);
        },
      );
    },
  );
}

/** The file's events, in order; a bad line stops the command with its line number and reason. */
async function eventsOf(path: string): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const record of readJsonlEvents(path)) {
    if ('error' in record) throw record.error;
    events.push(record.event);
  }
  return events;
}
