// `pipe model fetch REPO`: downloads a CLIP model folder in the Hugging Face ONNX layout into the cache.
import { parseArgs } from 'node:util';
import { CLIP_DTYPES, type ClipDtype } from '../../clip/model.js';
import { defaultCacheDir, fetchModel, FetchError } from '../../clip/fetch.js';

const USAGE = `usage: pipe model fetch REPO [--dtype fp32[,fp16,q8,...]] [--revision REV] [--cache-dir DIR] [--endpoint URL]
                       [--allow-unverified]

Downloads onnx/vision_model*.onnx, onnx/text_model*.onnx, tokenizer and configs of a Hugging Face ONNX
CLIP export (resumable, checksummed) and prints the model folder to use as a stage's \`model\` param.
Every file, downloaded or already present, is checked against the listing's size and sha256 (LFS) or git
blob sha1; a listing without them is refused unless --allow-unverified.
Cache: --cache-dir, else $PIPE_MODEL_CACHE, else ${defaultCacheDir()}. Token: $HF_TOKEN. Mirror: $HF_ENDPOINT.
dtypes: ${CLIP_DTYPES.join(', ')}`;

function mb(n: number): string {
  return (n / 1048576).toFixed(1);
}

/** A progress line redrawn in place on a terminal; one line per finished file otherwise. */
function progressReporter(tty: boolean) {
  let last = 0;
  return {
    onProgress({ file, done, total }: { file: string; done: number; total: number }) {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      const frac = total ? done / total : 0;
      const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
      process.stderr.write(`\r${file} [${bar}] ${mb(done)}/${mb(total)} MB`);
    },
    onFile({ file, status }: { file: string; status: string }) {
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${status.padEnd(10)} ${file}\n`);
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (sub !== 'fetch') {
    process.stderr.write(`pipe model: ${sub ? `unknown subcommand "${sub}"` : 'missing subcommand'}\n${USAGE}\n`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { dtype: { type: 'string' }, revision: { type: 'string' }, 'cache-dir': { type: 'string' }, endpoint: { type: 'string' }, 'allow-unverified': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    process.stderr.write(`pipe model fetch: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`pipe model fetch: expected one repository id\n${USAGE}\n`);
    return 2;
  }
  const dtypes = String(values.dtype ?? 'fp32').split(',').map((d) => d.trim()) as ClipDtype[];
  const unknown = dtypes.filter((d) => !CLIP_DTYPES.includes(d));
  if (unknown.length) {
    process.stderr.write(`pipe model fetch: unknown dtype ${unknown.join(', ')}\n  hint: use ${CLIP_DTYPES.join(', ')}\n`);
    return 2;
  }
  try {
    const dir = await fetchModel(positionals[0], {
      dtypes,
      revision: values.revision as string | undefined,
      cacheDir: values['cache-dir'] as string | undefined,
      endpoint: values.endpoint as string | undefined,
      allowUnverified: values['allow-unverified'] === true,
      ...progressReporter(Boolean(process.stderr.isTTY)),
    });
    process.stdout.write(`${dir}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof FetchError)) throw e;
    process.stderr.write(`pipe model fetch: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    return 1;
  }
}
