import type { Admin } from 'kafkajs';

import type { KafkaClient } from './create-kafka-client.js';
import { withKafkaErrors } from './kafka-errors.js';

/**
 * A connected kafkajs admin client. Services only hand it to the functions of this folder
 * (ensureTopics, createTopics, topicEndOffsets, readGroupOffsets, ...), never call it themselves.
 */
export type KafkaAdmin = Admin;

/**
 * Connects an admin client of `client`; a failed connection is a KafkaTransportError whose
 * message says `action` (default 'connect the admin client'). Close it with closeKafkaAdmin.
 */
export async function openKafkaAdmin({
  client,
  action = 'connect the admin client',
  topic,
}: {
  client: KafkaClient;
  action?: string;
  /** Only for the error message. */
  topic?: string | undefined;
}): Promise<KafkaAdmin> {
  const admin = client.kafka.admin();
  await withKafkaErrors(
    {
      action,
      brokers: client.brokers,
      principal: client.security.principal,
      ...(topic === undefined ? {} : { topic }),
    },
    () => admin.connect(),
  );
  return admin;
}

/** Disconnects; a failed disconnect is ignored (the connection is gone either way). */
export async function closeKafkaAdmin(admin: KafkaAdmin): Promise<void> {
  await admin.disconnect().catch(() => {});
}

/** Runs `use` with a connected admin client and closes it afterwards, also when `use` throws. */
export async function withKafkaAdmin<T>(
  options: Parameters<typeof openKafkaAdmin>[0],
  use: (admin: KafkaAdmin) => Promise<T>,
): Promise<T> {
  const admin = await openKafkaAdmin(options);
  try {
    return await use(admin);
  } finally {
    await closeKafkaAdmin(admin);
  }
}
