/**
 * Stand-ins for the application modules a project's migrations import from outside their folder,
 * written next to the copied folder so that both tools load the migrations the same way without
 * the application's dependencies installed. Each stand-in gives only what the migrations read:
 * a model's table name (the real value, from the model's `static tableName`), a helper that reads
 * seed data returning none (its migrations only update rows, and the evaluation's databases are
 * empty). Modules that import nothing outside themselves are copied from the repository instead
 * (`--also`).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const model = (name: string, table: string) => `export class ${name} {\n  static tableName = '${table}';\n}\n`;

const SHIMS: Record<string, Record<string, string>> = {
  // decentraland/builder-server: migrations/*.ts import ../src/<Model> for its table name.
  'decentraland-builder-server': {
    'src/Item/index.ts': "export { Item } from './Item.model';\n",
    'src/Item/Item.model.ts': model('Item', 'items'),
    'src/Collection/index.ts': "export { Collection } from './Collection.model';\n",
    'src/Collection/Collection.model.ts': model('Collection', 'collections'),
    'src/Asset/index.ts': model('Asset', 'assets'),
    'src/AssetPack/index.ts': `${model('AssetPack', 'asset_packs')}export function getDefaultEthAddress(): string {\n  return process.env.DEFAULT_ETH_ADDRESS ?? '0x0000000000000000000000000000000000000000';\n}\n`,
    'src/Curation/CollectionCuration/index.ts': model('CollectionCuration', 'collection_curations'),
    'src/Curation/ItemCuration/index.ts': model('ItemCuration', 'item_curations'),
    'src/Deployment/index.ts': model('Deployment', 'deployments'),
    'src/Pool/index.ts': model('Pool', 'pools'),
    'src/PoolGroup/index.ts': model('PoolGroup', 'pool_groups'),
    'src/PoolLike/index.ts': model('PoolLike', 'pool_likes'),
    'src/Project/index.ts': model('Project', 'projects'),
    'src/SlotUsageCheque/index.ts': model('SlotUsageCheque', 'slot_usage_cheques'),
    'src/ThirdParty/VirtualThirdParty.model.ts': model('VirtualThirdParty', 'virtual_third_parties'),
    'scripts/seed/utils.ts': 'export async function getAssetPackFiles(): Promise<{ data: { id: string; assets: { id: string; legacy_id: string }[] } }[]> {\n  return [];\n}\n',
  },
};

export const SHIM_NAMES = Object.keys(SHIMS);

/** Writes the named set of stand-ins under `root` (never over a file copied from the repository). */
export function writeShims(name: string, root: string): void {
  const files = SHIMS[name];
  if (!files) throw new Error(`no shims named ${name}; known: ${SHIM_NAMES.join(', ')}`);
  for (const [file, text] of Object.entries(files)) {
    const target = path.join(root, file);
    if (existsSync(target)) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}
