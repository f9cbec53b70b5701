import { ConfigError } from '../errors/index.js';
import { SASL_MECHANISMS, type KafkaConfig } from './config-schema.js';

/**
 * The environment variables that secure the Kafka connections, in one table (as
 * shared/engine/flags.ts for the engine switches): each either overrides a key of the `kafka`
 * config section (a deployment's environment beats the file baked into its image) or carries a
 * secret, which has no config key because secrets never go into the JSON file.
 */
export interface KafkaEnvVariable {
  readonly env: string;
  /** The config key it overrides; absent for a secret. */
  readonly key?: string;
  readonly doc: string;
}

export const KAFKA_ENV = {
  sslEnabled: { env: 'RNNSTREAM_KAFKA_SSL', key: 'kafka.ssl.enabled', doc: 'true/false: TLS' },
  caFile: { env: 'RNNSTREAM_KAFKA_SSL_CA_FILE', key: 'kafka.ssl.caFile', doc: 'CA (PEM)' },
  certFile: {
    env: 'RNNSTREAM_KAFKA_SSL_CERT_FILE',
    key: 'kafka.ssl.certFile',
    doc: 'client certificate (PEM)',
  },
  keyFile: {
    env: 'RNNSTREAM_KAFKA_SSL_KEY_FILE',
    key: 'kafka.ssl.keyFile',
    doc: 'client private key (PEM)',
  },
  keyPasswordFile: {
    env: 'RNNSTREAM_KAFKA_SSL_KEY_PASSWORD_FILE',
    key: 'kafka.ssl.keyPasswordFile',
    doc: 'file holding the passphrase of an encrypted client key',
  },
  keyPassword: {
    env: 'RNNSTREAM_KAFKA_SSL_KEY_PASSWORD',
    doc: 'secret: the passphrase of an encrypted client key (instead of the file)',
  },
  rejectUnauthorized: {
    env: 'RNNSTREAM_KAFKA_SSL_REJECT_UNAUTHORIZED',
    key: 'kafka.ssl.rejectUnauthorized',
    doc: 'true/false: verify the broker certificates',
  },
  serverName: {
    env: 'RNNSTREAM_KAFKA_SSL_SERVER_NAME',
    key: 'kafka.ssl.serverName',
    doc: 'the name broker certificates must carry (and SNI)',
  },
  mechanism: {
    env: 'RNNSTREAM_KAFKA_SASL_MECHANISM',
    key: 'kafka.sasl.mechanism',
    doc: `${SASL_MECHANISMS.join(' | ')}`,
  },
  username: {
    env: 'RNNSTREAM_KAFKA_SASL_USERNAME',
    key: 'kafka.sasl.username',
    doc: 'SASL user name',
  },
  passwordFile: {
    env: 'RNNSTREAM_KAFKA_SASL_PASSWORD_FILE',
    key: 'kafka.sasl.passwordFile',
    doc: 'file holding the SASL password',
  },
  password: {
    env: 'RNNSTREAM_KAFKA_SASL_PASSWORD',
    doc: 'secret: the SASL password (instead of the file)',
  },
} as const satisfies Record<string, KafkaEnvVariable>;

type Setting = keyof typeof KAFKA_ENV;

/** Where a secret is: never the secret itself, so settings can be printed and compared freely. */
export type SecretSource =
  | { readonly from: 'file'; readonly path: string; readonly origin: string }
  | { readonly from: 'env'; readonly variable: string };

/**
 * The `kafka` config section with the environment applied and checked as a whole: what a client
 * needs to connect, secrets as references. `origin` of each value names the variable or key it
 * came from, for error messages.
 */
export interface KafkaConnectionSettings {
  readonly ssl:
    | {
        readonly caFile?: string;
        readonly certFile?: string;
        readonly keyFile?: string;
        readonly keyPassword?: SecretSource;
        readonly rejectUnauthorized: boolean;
        readonly serverName?: string;
      }
    | undefined;
  readonly sasl:
    | {
        readonly mechanism: Exclude<(typeof SASL_MECHANISMS)[number], 'none'>;
        readonly username: string;
        readonly password: SecretSource;
      }
    | undefined;
  /** Setting -> 'RNNSTREAM_...' or 'kafka.x.y', for the messages about that value. */
  readonly origin: Readonly<Partial<Record<Setting, string>>>;
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/**
 * `config` (the parsed `kafka` section) overridden by the RNNSTREAM_KAFKA_* variables of `env`,
 * checked for settings that only make sense together. Throws one ConfigError listing every
 * problem, each naming the variable or key to change. Reads no file and returns no secret.
 */
export function kafkaConnectionSettings(
  config: KafkaConfig,
  env: NodeJS.ProcessEnv = process.env,
): KafkaConnectionSettings {
  const problems: string[] = [];
  const origin: Partial<Record<Setting, string>> = {};
  const fromEnv = (setting: Setting): string | undefined => {
    const raw = env[KAFKA_ENV[setting].env];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  /** The env value if set, else the config value; records where it came from. */
  function pick<T>(setting: Setting, configured: T | undefined, parse: (raw: string) => T) {
    const raw = fromEnv(setting);
    const variable: KafkaEnvVariable = KAFKA_ENV[setting];
    if (raw !== undefined) {
      origin[setting] = variable.env;
      return parse(raw);
    }
    if (configured !== undefined && variable.key !== undefined) origin[setting] = variable.key;
    return configured;
  }
  const bool = (setting: Setting) => (raw: string) => {
    const v = raw.toLowerCase();
    if (TRUE.includes(v)) return true;
    if (FALSE.includes(v)) return false;
    problems.push(
      `${KAFKA_ENV[setting].env}=${raw}: expected true or false (fix: set it to true or false, or unset it)`,
    );
    return undefined;
  };
  const text = (raw: string) => raw;

  const enabled = pick('sslEnabled', config.ssl.enabled, bool('sslEnabled')) ?? false;
  const caFile = pick('caFile', config.ssl.caFile, text);
  const certFile = pick('certFile', config.ssl.certFile, text);
  const keyFile = pick('keyFile', config.ssl.keyFile, text);
  const keyPasswordFile = pick('keyPasswordFile', config.ssl.keyPasswordFile, text);
  const rejectUnauthorized =
    pick('rejectUnauthorized', config.ssl.rejectUnauthorized, bool('rejectUnauthorized')) ?? true;
  const serverName = pick('serverName', config.ssl.serverName, text);
  const keyPasswordVariable = fromEnv('keyPassword') === undefined ? undefined : 'keyPassword';

  const mechanism = pick('mechanism', config.sasl.mechanism, (raw) => {
    const v = raw.toLowerCase();
    if ((SASL_MECHANISMS as readonly string[]).includes(v))
      return v as (typeof SASL_MECHANISMS)[number];
    problems.push(
      `${KAFKA_ENV.mechanism.env}=${raw}: not a SASL mechanism (fix: one of ${SASL_MECHANISMS.join(', ')})`,
    );
    return undefined;
  });
  const username = pick('username', config.sasl.username, text);
  const passwordFile = pick('passwordFile', config.sasl.passwordFile, text);
  const passwordVariable = fromEnv('password') === undefined ? undefined : 'password';

  const named = (setting: Setting) => origin[setting] ?? KAFKA_ENV[setting].env;
  const twice = (file: Setting, variable: Setting) =>
    problems.push(
      `${named(file)} and ${KAFKA_ENV[variable].env} both give the ${variable === 'password' ? 'SASL password' : 'client key passphrase'} (fix: keep one of them)`,
    );

  // TLS settings without TLS would be silently ignored: the user meant TLS.
  const sslOnly = (['caFile', 'certFile', 'keyFile', 'keyPasswordFile', 'serverName'] as const)
    .filter((s) => origin[s] !== undefined)
    .map(named);
  if (!rejectUnauthorized) sslOnly.push(named('rejectUnauthorized'));
  if (keyPasswordVariable) sslOnly.push(KAFKA_ENV.keyPassword.env);
  if (!enabled && sslOnly.length > 0)
    problems.push(
      `${sslOnly.join(', ')} set but TLS is off (fix: set kafka.ssl.enabled to true or ${KAFKA_ENV.sslEnabled.env}=true, or remove them)`,
    );
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push(
      certFile === undefined
        ? `${named('keyFile')} is set without a client certificate (fix: also set kafka.ssl.certFile or ${KAFKA_ENV.certFile.env})`
        : `${named('certFile')} is set without its private key (fix: also set kafka.ssl.keyFile or ${KAFKA_ENV.keyFile.env})`,
    );
  if ((keyPasswordFile !== undefined || keyPasswordVariable) && keyFile === undefined)
    problems.push(
      `a client key passphrase is given but no client key (fix: set kafka.ssl.keyFile / ${KAFKA_ENV.keyFile.env}, or remove the passphrase)`,
    );
  if (keyPasswordFile !== undefined && keyPasswordVariable) twice('keyPasswordFile', 'keyPassword');

  const saslOn = mechanism !== undefined && mechanism !== 'none';
  if (saslOn) {
    if (username === undefined)
      problems.push(
        `${named('mechanism')} = ${mechanism} needs a user name (fix: set kafka.sasl.username or ${KAFKA_ENV.username.env})`,
      );
    if (passwordFile === undefined && !passwordVariable)
      problems.push(
        `${named('mechanism')} = ${mechanism} needs a password (fix: set ${KAFKA_ENV.password.env}, or name a file holding it with kafka.sasl.passwordFile / ${KAFKA_ENV.passwordFile.env})`,
      );
    if (passwordFile !== undefined && passwordVariable) twice('passwordFile', 'password');
  } else if (username !== undefined || passwordFile !== undefined || passwordVariable) {
    const given = [
      ...(['username', 'passwordFile'] as const).filter((s) => origin[s] !== undefined).map(named),
      ...(passwordVariable ? [KAFKA_ENV.password.env] : []),
    ];
    problems.push(
      `${given.join(', ')} set but no SASL mechanism (fix: set kafka.sasl.mechanism or ${KAFKA_ENV.mechanism.env} to ${SASL_MECHANISMS.filter((m) => m !== 'none').join(', ')})`,
    );
  }

  if (problems.length > 0)
    throw new ConfigError(
      [`invalid Kafka connection settings (${problems.length}):`, ...problems].join('\n'),
    );

  const secret = (file: Setting, variable: Setting, path: string | undefined): SecretSource =>
    path !== undefined
      ? { from: 'file', path, origin: named(file) }
      : { from: 'env', variable: KAFKA_ENV[variable].env };
  return {
    ssl: enabled
      ? {
          ...(caFile === undefined ? {} : { caFile }),
          ...(certFile === undefined ? {} : { certFile }),
          ...(keyFile === undefined ? {} : { keyFile }),
          ...(keyPasswordFile !== undefined || keyPasswordVariable
            ? { keyPassword: secret('keyPasswordFile', 'keyPassword', keyPasswordFile) }
            : {}),
          rejectUnauthorized,
          ...(serverName === undefined ? {} : { serverName }),
        }
      : undefined,
    sasl:
      saslOn && username !== undefined
        ? {
            mechanism,
            username,
            password: secret('passwordFile', 'password', passwordFile),
          }
        : undefined,
    origin,
  };
}
