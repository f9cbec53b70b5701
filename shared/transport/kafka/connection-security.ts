import { readFileSync } from 'node:fs';
import tls from 'node:tls';

import type { Mechanism, SASLOptions } from 'kafkajs';

import type { KafkaConnectionSettings, SecretSource } from '../../config/kafka-env.js';
import { ConfigError } from '../../errors/index.js';
import { saslLogin } from './sasl-login.js';

/**
 * What kafkajs needs to reach secured brokers, read from the files and variables the settings
 * name: `ssl` (tls.connect options) and `sasl`. `description` and `principal` are safe to log and
 * to put into error messages; nothing else here is.
 */
export interface KafkaSecurity {
  readonly ssl: tls.ConnectionOptions | undefined;
  readonly sasl: SASLOptions | Mechanism | undefined;
  /** e.g. `SASL_SSL, SCRAM-SHA-512 as 'alice'`, `SSL (client certificate)`, `PLAINTEXT`. */
  readonly description: string;
  /** The SASL user, as ACLs name it (`User:<name>`); undefined without SASL. */
  readonly principal: string | undefined;
  /** Settings that work but weaken security, one sentence each (the client logs them). */
  readonly warnings: readonly string[];
}

/** No TLS, no SASL: what a client without settings uses. */
export const PLAINTEXT: KafkaSecurity = {
  ssl: undefined,
  sasl: undefined,
  description: 'PLAINTEXT',
  principal: undefined,
  warnings: [],
};

/**
 * Reads the certificates, keys and secrets the settings name and checks that they make a TLS
 * context (a wrong passphrase or a key that is not the certificate's fails here, at start-up,
 * not at the first connection). Every failure is a ConfigError naming the setting, the file and
 * the fix; no message or log line ever holds a secret or a key.
 */
export function loadKafkaSecurity(
  settings: KafkaConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
): KafkaSecurity {
  const { ssl: tlsSettings, sasl: saslSettings, origin } = settings;
  if (tlsSettings === undefined && saslSettings === undefined) return PLAINTEXT;
  const warnings: string[] = [];

  let ssl: tls.ConnectionOptions | undefined;
  if (tlsSettings !== undefined) {
    const file = (path: string | undefined, what: string, setting: string | undefined) =>
      path === undefined ? undefined : readSettingFile(path, what, setting ?? what);
    const ca = file(tlsSettings.caFile, 'CA certificate', origin.caFile);
    const cert = file(tlsSettings.certFile, 'client certificate', origin.certFile);
    const key = file(tlsSettings.keyFile, 'client key', origin.keyFile);
    const passphrase =
      tlsSettings.keyPassword === undefined
        ? undefined
        : readSecret(tlsSettings.keyPassword, 'client key passphrase', env);
    ssl = {
      ...(ca === undefined ? {} : { ca: [ca] }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(passphrase === undefined ? {} : { passphrase }),
      rejectUnauthorized: tlsSettings.rejectUnauthorized,
      ...(tlsSettings.serverName === undefined ? {} : { servername: tlsSettings.serverName }),
    };
    checkTlsContext(ssl, origin);
    if (!tlsSettings.rejectUnauthorized)
      warnings.push(
        `${origin.rejectUnauthorized ?? 'kafka.ssl.rejectUnauthorized'} is false: any broker certificate is accepted, so the connection can be intercepted (fix: give the brokers' CA with kafka.ssl.caFile and remove it)`,
      );
  }

  let sasl: SASLOptions | Mechanism | undefined;
  if (saslSettings !== undefined) {
    const password = readSecret(saslSettings.password, 'SASL password', env);
    sasl = saslLogin({
      mechanism: saslSettings.mechanism,
      username: saslSettings.username,
      password,
    });
    if (ssl === undefined)
      warnings.push(
        `SASL ${saslSettings.mechanism.toUpperCase()} without TLS: ${saslSettings.mechanism === 'plain' ? 'the password crosses' : 'the session data crosses'} the network unencrypted (fix: set kafka.ssl.enabled to true, or RNNSTREAM_KAFKA_SSL=true)`,
      );
  }

  const protocol = `${sasl === undefined ? '' : 'SASL_'}${ssl === undefined ? 'PLAINTEXT' : 'SSL'}`;
  const parts = [protocol];
  if (saslSettings !== undefined)
    parts.push(`${saslSettings.mechanism.toUpperCase()} as '${saslSettings.username}'`);
  if (ssl?.cert !== undefined) parts.push('client certificate');
  return {
    ssl,
    sasl,
    description: parts.join(', '),
    principal: saslSettings?.username,
    warnings,
  };
}

/**
 * A file a setting names. A value that looks like PEM text rather than a path is refused without
 * being repeated (it is likely a key pasted where its path belongs).
 */
function readSettingFile(path: string, what: string, setting: string): Buffer {
  if (path.includes('\n') || path.includes('-----BEGIN'))
    throw new ConfigError(
      `${setting}: the value is not a path but looks like the ${what} itself (not shown) (fix: write it into a file and give that file's path)`,
    );
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (code ?? String(error));
    throw new ConfigError(
      `${setting} = ${path}: the ${what} cannot be read (${reason}) (fix: give the path of a readable PEM file; in Kubernetes, mount the Secret that holds it and name the mounted file)`,
      { cause: error },
    );
  }
}

/**
 * A password or passphrase from its file (trailing line breaks removed: `echo pw > file` and
 * most Secret tooling add one) or its variable.
 */
function readSecret(source: SecretSource, what: string, env: NodeJS.ProcessEnv): string {
  let value: string;
  let where: string;
  if (source.from === 'file') {
    where = `${source.origin} = ${source.path}`;
    value = readSettingFile(source.path, what, source.origin)
      .toString('utf8')
      .replace(/[\r\n]+$/, '');
  } else {
    where = source.variable;
    value = env[source.variable] ?? '';
  }
  if (value === '')
    throw new ConfigError(
      `${where}: the ${what} is empty (fix: put the ${what} there, without anything else)`,
    );
  return value;
}

/** Builds the TLS context once, so unusable keys and certificates fail before any connection. */
function checkTlsContext(
  ssl: tls.ConnectionOptions,
  origin: KafkaConnectionSettings['origin'],
): void {
  try {
    tls.createSecureContext(ssl);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const keyFile = origin.keyFile ?? 'kafka.ssl.keyFile';
    const certFile = origin.certFile ?? 'kafka.ssl.certFile';
    const caFile = origin.caFile ?? 'kafka.ssl.caFile';
    let fix: string;
    if (/bad decrypt|bad password|decrypt|passphrase|interrupted or cancelled/i.test(message))
      fix = `the client key (${keyFile}) is encrypted and the passphrase is missing or wrong: give it with kafka.ssl.keyPasswordFile, RNNSTREAM_KAFKA_SSL_KEY_PASSWORD_FILE or RNNSTREAM_KAFKA_SSL_KEY_PASSWORD`;
    else if (/key values mismatch/i.test(message))
      fix = `${keyFile} is not the private key of ${certFile}: give the key the certificate was issued for`;
    else
      fix = `check that ${caFile}, ${certFile} and ${keyFile} are PEM files (-----BEGIN CERTIFICATE----- / -----BEGIN PRIVATE KEY-----)`;
    throw new ConfigError(`Kafka TLS settings unusable: ${message} (fix: ${fix})`, {
      cause: error,
    });
  }
}
