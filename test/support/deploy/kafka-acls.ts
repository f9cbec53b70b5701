/**
 * Kafka's authorisation rule for a Strimzi KafkaUser's `simple` ACLs, written out independently of
 * the manifests: does the user's ACL list allow an operation on a resource? A literal pattern
 * matches its name (or every name for `*`), a prefix pattern every name that starts with it; Read,
 * Write, Delete and Alter imply Describe, AlterConfigs implies DescribeConfigs, All implies
 * everything; a matching deny wins over any allow (Kafka's AclAuthorizer).
 */
import type { Json, K8sObject } from './k8s-objects.js';

export type AclResourceType = 'topic' | 'group' | 'transactionalId' | 'cluster';

const IMPLIED_BY: Readonly<Record<string, readonly string[]>> = {
  Describe: ['Read', 'Write', 'Delete', 'Alter'],
  DescribeConfigs: ['AlterConfigs'],
};

function matches(acl: Json, type: AclResourceType, name: string, operation: string): boolean {
  const r = acl.resource ?? {};
  if (r.type !== type) return false;
  if (type !== 'cluster') {
    const pattern = r.patternType ?? 'literal';
    const nameOk =
      pattern === 'prefix' ? name.startsWith(r.name) : r.name === '*' || r.name === name;
    if (!nameOk) return false;
  }
  const operations: string[] = acl.operations ?? (acl.operation ? [acl.operation] : []);
  return operations.some(
    (op) => op === operation || op === 'All' || (IMPLIED_BY[operation] ?? []).includes(op),
  );
}

export function aclAllows(
  user: K8sObject,
  type: AclResourceType,
  name: string,
  operation: string,
): boolean {
  const acls: Json[] = user.spec?.authorization?.acls ?? [];
  const denied = acls.some((a) => a.type === 'deny' && matches(a, type, name, operation));
  const allowed = acls.some(
    (a) => (a.type ?? 'allow') === 'allow' && matches(a, type, name, operation),
  );
  return allowed && !denied;
}
