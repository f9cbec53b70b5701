import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createLogger, LOG_LEVEL_ENV } from '../../../shared/logging/index.js';
import kafkajs from '../../../shared/transport/kafka/kafkajs.js';
import { createKafkaClient, type KafkaClient } from '../../../shared/transport/kafka/index.js';
import { kafkaScriptUrl } from './broker.js';

/** What scripts/kafka/certificates.mjs writes (PEM files) and the client key's passphrase. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly otherCaFile: string;
  readonly brokerKeystoreFile: string;
  readonly brokerCommonName: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly clientKeyPassword: string;
  readonly clientKeyPasswordFile: string;
}

interface CertificatesModule {
  createTestCertificates(options: { dir: string }): TestCertificates;
}
interface LocalBrokerModule {
  startLocalBroker(options: {
    security: {
      tls: TestCertificates;
      admin: TestUser;
      users: readonly TestUser[];
      clientAuth: 'none' | 'requested' | 'required';
    };
    log?: (message: string) => void;
  }): Promise<{ brokers: string; startSeconds: number; stop(): Promise<void> }>;
}

const certificates = (await import(kafkaScriptUrl('certificates.mjs'))) as CertificatesModule;

/** A CA, a broker certificate for 127.0.0.1 / localhost, a client certificate and another CA. */
export function testCertificates(dir: string): TestCertificates {
  return certificates.createTestCertificates({ dir });
}

export interface TestUser {
  readonly name: string;
  readonly password: string;
}

export type TestMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export type AclKind = 'topic' | 'group' | 'transactional-id';

/** A SASL_SSL-only broker with the StandardAuthorizer, started for one test file. */
export interface SecuredTestBroker {
  readonly brokers: string[];
  readonly certs: TestCertificates;
  readonly admin: TestUser;
  readonly startSeconds: number;
  /** A user of its own for the calling test (PLAIN and SCRAM credentials, no ACL yet). */
  user(name: string): TestUser;
  /**
   * The RNNSTREAM_KAFKA_* variables a process needs to connect as `user` (client certificate
   * included: the listener requires one), the password in a file.
   */
  env(user: TestUser, mechanism: TestMechanism): Record<string, string>;
  /** A client connecting as the admin (a super user), for setting ACLs and reading topics. */
  adminClient(name: string): KafkaClient;
  /**
   * Allows `user` everything on the resources of `kinds` (default all three) whose names start
   * with `prefix`.
   */
  allowPrefix(user: TestUser, prefix: string, kinds?: readonly AclKind[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a secured broker (scripts/kafka/local-broker.mjs with `security`) with `users` as SASL
 * users: their SCRAM credentials are formatted in at start, so every user a test file needs is
 * named here. The run directory with the certificates and password files is removed by stop().
 */
export async function startSecuredTestBroker(
  userNames: readonly string[],
): Promise<SecuredTestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'rnnstream-secured-'));
  const certs = testCertificates(join(dir, 'tls'));
  const password = () => randomBytes(12).toString('hex');
  const admin = { name: 'admin', password: password() };
  const users = new Map(userNames.map((name) => [name, { name, password: password() }]));
  const { startLocalBroker } = (await import(
    kafkaScriptUrl('local-broker.mjs')
  )) as LocalBrokerModule;
  const started = await startLocalBroker({
    security: { tls: certs, admin, users: [...users.values()], clientAuth: 'required' },
    log: (message) => process.stderr.write(`[kafka secured] ${message}\n`),
  });
  const brokers = [started.brokers];
  const env = (user: TestUser, mechanism: TestMechanism): Record<string, string> => {
    const passwordFile = join(dir, `${user.name}.password`);
    writeFileSync(passwordFile, `${user.password}\n`, { mode: 0o600 });
    return {
      RNNSTREAM_KAFKA_SSL: 'true',
      RNNSTREAM_KAFKA_SSL_CA_FILE: certs.caFile,
      RNNSTREAM_KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      RNNSTREAM_KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
      RNNSTREAM_KAFKA_SSL_KEY_PASSWORD_FILE: certs.clientKeyPasswordFile,
      RNNSTREAM_KAFKA_SASL_MECHANISM: mechanism,
      RNNSTREAM_KAFKA_SASL_USERNAME: user.name,
      RNNSTREAM_KAFKA_SASL_PASSWORD_FILE: passwordFile,
    };
  };
  const adminClient = (name: string) =>
    createKafkaClient({
      clientId: name,
      brokers,
      logger: createLogger({ name, level: process.env[LOG_LEVEL_ENV] || 'warn' }),
      env: env(admin, 'scram-sha-512'),
    });
  return {
    brokers,
    certs,
    admin,
    startSeconds: started.startSeconds,
    user: (name) => users.get(name) ?? assertNever(name, userNames),
    env,
    adminClient,
    async allowPrefix(user, prefix, kinds = ['topic', 'group', 'transactional-id']) {
      const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } =
        kafkajs;
      const resourceTypes = {
        topic: AclResourceTypes.TOPIC,
        group: AclResourceTypes.GROUP,
        'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
      };
      const admin = adminClient('acl-admin').kafka.admin();
      await admin.connect();
      try {
        await admin.createAcls({
          acl: kinds.map((kind) => ({
            resourceType: resourceTypes[kind],
            resourceName: prefix,
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            principal: `User:${user.name}`,
            host: '*',
            operation: AclOperationTypes.ALL,
            permissionType: AclPermissionTypes.ALLOW,
          })),
        });
      } finally {
        await admin.disconnect();
      }
    },
    async stop() {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function assertNever(name: string, known: readonly string[]): never {
  throw new Error(
    `no user '${name}' on the secured test broker (fix: name it in startSecuredTestBroker([${known.map((k) => `'${k}'`).join(', ')}]))`,
  );
}
