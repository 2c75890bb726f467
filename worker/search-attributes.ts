/**
 * The Switchyard search attributes (contract/workflow.ts) on the worker's namespace: checked, and
 * added when the server allows it.
 */
import type { NativeConnection } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../contract/index.js';

/**
 * Whether the namespace has every Switchyard search attribute (Keyword); missing ones are added
 * through the operator API when the server allows it (a dev server does; a cluster may need an
 * operator: `temporal operator search-attribute create --name SwitchyardTeam --type Keyword`).
 */
export async function ensureSearchAttributes(
  connection: NativeConnection,
  namespace: string,
  log: (line: string) => void,
): Promise<boolean> {
  const names: string[] = Object.values(SEARCH_ATTRIBUTES);
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...listed.customAttributes, ...listed.systemAttributes };
    const missing = names.filter((name) => !(name in known));
    if (missing.length === 0) return true;
    await connection.operatorService.addSearchAttributes({
      namespace,
      // 2 = INDEXED_VALUE_TYPE_KEYWORD
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2])),
    });
    return true;
  } catch (err) {
    log(
      `switchyard worker: the namespace ${namespace} lacks the search attributes ${names.join(', ')} ` +
        `and they cannot be added (${(err as Error).message.split('\n')[0]}); requests run without them. ` +
        `Register them as Keyword (temporal operator search-attribute create --name NAME --type Keyword).`,
    );
    return false;
  }
}
