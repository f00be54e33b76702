import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { CLONE_SEARCH_ATTRIBUTES } from '../common/search-attributes.js';

// The clone search attributes must exist in the namespace before a clone starts. The dev
// server and the compose stack register them; `cocoon-flow setup` does it for any other
// server, and a refused start names what is missing.

// @temporalio/proto is CommonJS; its namespace is reached through the default export.
const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** Names of the clone search attributes the namespace does not have. */
export async function missingSearchAttributes(client: Client): Promise<string[]> {
  const existing = await client.connection.operatorService.listSearchAttributes({
    namespace: client.options.namespace,
  });
  const custom = existing.customAttributes ?? {};
  return CLONE_SEARCH_ATTRIBUTES.map((key) => key.name).filter((name) => !(name in custom));
}

/** Adds the clone search attributes the namespace lacks; returns the names it added. */
export async function registerSearchAttributes(client: Client): Promise<string[]> {
  const missing = await missingSearchAttributes(client);
  if (missing.length === 0) return [];

  await client.connection.operatorService.addSearchAttributes({
    namespace: client.options.namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
  });
  return missing;
}
