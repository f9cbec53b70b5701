import type { Mechanism, SASLOptions } from 'kafkajs';

import kafkajs, { kafkajsSaslAuthenticator, type KafkajsSaslMechanism } from './kafkajs.js';

// kafkajs' typings declare no constructor argument; the class takes the message (errors.js).
const SaslAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (
  message: string,
) => Error;

/**
 * kafkajs' `sasl` option for a user: kafkajs' own authenticator for the mechanism, wrapped so
 * that a refused login says which mechanism, user and broker (kafkajs says only "authentication
 * failed"), and stays a KafkaJSSASLAuthenticationError, which kafkajs does not retry. The
 * password lives in the wrapper's closure, not in kafkajs' configuration object.
 */
export function saslLogin({
  mechanism,
  username,
  password,
}: {
  mechanism: KafkajsSaslMechanism;
  username: string;
  password: string;
}): SASLOptions | Mechanism {
  const authenticator = kafkajsSaslAuthenticator(mechanism);
  if (authenticator === undefined) return { mechanism, username, password } as SASLOptions;
  const provide = authenticator({ username, password });
  const name = mechanism.toUpperCase();
  return {
    mechanism,
    authenticationProvider: (args) => {
      const inner = provide(args);
      return {
        authenticate: async () => {
          try {
            await inner.authenticate();
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            throw new SaslAuthenticationError(
              `SASL ${name} login as user '${username}' refused by ${args.host}:${args.port}: ${reason.replace(/^SASL [^:]*failed: /, '')}`,
            );
          }
        },
      };
    },
  };
}
