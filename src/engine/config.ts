// pipe.config.yaml of a workspace: site settings that are not part of any pipeline (the cluster profile):
// which executor runs instances, where the database lives, and the Slurm defaults (partition, account...).
// The pipeline file's `executor:`/`slurm:` beat it; `--executor`/`--db` beat both.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type * as Yaml from 'yaml';
import type { SlurmOptions } from '../pipeline/types.js';
import schema from '../pipeline/schema.json' with { type: 'json' };
import type { ExecutorName } from './executor.js';
import { UsageError } from './select.js';

export const CONFIG_FILE = 'pipe.config.yaml';

export interface WorkspaceConfig {
  readonly executor?: ExecutorName;
  /** Results database path, relative to the workspace or absolute. */
  readonly db?: string;
  readonly slurm?: SlurmOptions;
}

const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    executor: schema.properties.executor,
    db: { type: 'string', minLength: 1 },
    slurm: schema.$defs.slurm,
  },
};

// Every command resolves the database through here, and most workspaces have no config file: the YAML
// parser and ajv (about a third of a read-only command's start-up) load only when one exists. Both are
// CommonJS, so a synchronous require does it; the options are newAjv's (src/pipeline/validators.ts).
const require = createRequire(import.meta.url);

const cache = new Map<string, WorkspaceConfig>();

/** The workspace's config ({} without a file); a bad file is a usage error naming the field. */
export function workspaceConfig(workspace: string): WorkspaceConfig {
  const hit = cache.get(workspace);
  if (hit) return hit;
  const file = join(workspace, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    cache.set(workspace, {});
    return {};
  }
  let doc: unknown;
  try {
    doc = (require('yaml') as typeof Yaml).parse(text) ?? {};
  } catch (e) {
    throw new UsageError(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`, 'fix the syntax; see docs/cluster.md');
  }
  const Ajv = (require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 }).Ajv2020;
  const validate = new Ajv({ allErrors: true, strict: false, verbose: true, validateSchema: false }).compile(CONFIG_SCHEMA);
  if (!validate(doc)) {
    const e = validate.errors![0];
    const field = e.instancePath.slice(1).replaceAll('/', '.') || (e.params as { additionalProperty?: string }).additionalProperty || '(top level)';
    throw new UsageError(`${file}: ${field}: ${e.message ?? 'is invalid'}`, 'fields: executor (local|slurm), db (path), slurm: { partition, account, qos, time, extra }');
  }
  cache.set(workspace, doc as WorkspaceConfig);
  return doc as WorkspaceConfig;
}
