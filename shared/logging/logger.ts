import { pino } from 'pino';

import { ConfigError } from '../errors/index.js';

export type Logger = pino.Logger;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LevelName = (typeof LEVELS)[number];

export const LOG_LEVEL_ENV = 'RNNSTREAM_LOG_LEVEL';

/**
 * Fields replaced by "[redacted]" in every line: where a secret would be if a kafkajs
 * configuration, TLS options or a SASL exchange were ever logged (rnnstream logs none of them;
 * this is the net under that rule). Two levels deep, as pino's paths name them.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  '*.*.password',
  'passphrase',
  '*.passphrase',
  '*.*.passphrase',
  'ssl.key',
  '*.ssl.key',
  'authBytes',
  '*.authBytes',
];

/**
 * A pino logger writing JSON lines to stderr, so stdout stays for results (predictions, the run
 * summary). Level: the `level` option (e.g. from a CLI flag), else $RNNSTREAM_LOG_LEVEL, else info.
 * `destination` exists for tests.
 */
export function createLogger({
  name,
  level,
  destination = pino.destination({ dest: 2, sync: true }),
}: {
  name: string;
  level?: string;
  destination?: pino.DestinationStream;
}): Logger {
  const fromEnv = process.env[LOG_LEVEL_ENV];
  const chosen = level ?? (fromEnv === undefined || fromEnv === '' ? 'info' : fromEnv);
  return pino(
    {
      name,
      level: checkLevel(chosen, level === undefined ? `$${LOG_LEVEL_ENV}` : 'log level'),
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    destination,
  );
}

function checkLevel(value: string, source: string): LevelName {
  const lower = value.toLowerCase();
  if ((LEVELS as readonly string[]).includes(lower)) return lower as LevelName;
  throw new ConfigError(
    `${source} = "${value}": not a log level (fix: use one of ${LEVELS.join(', ')})`,
  );
}
