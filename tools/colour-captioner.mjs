#!/usr/bin/env node
// Example captioner for the external-command stage: writes one caption per manifest image, as OFA would,
// in the JSONL format `captions/import` reads ({ "id": ..., "caption": ... }). It "describes" an image by
// its mean colour and brightness, which is all a synthetic stripe image has; swap in a real captioner
// (e.g. OFA through Python) with the same arguments and output format.
//   node tools/colour-captioner.mjs --manifest manifest.jsonl --out captions.jsonl
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({ options: { manifest: { type: 'string' }, out: { type: 'string' } } });
if (!values.manifest || !values.out) {
  console.error('usage: colour-captioner.mjs --manifest manifest.jsonl --out captions.jsonl');
  process.exit(2);
}

const NAMES = [[0, 'red'], [30, 'orange'], [55, 'yellow'], [100, 'green'], [170, 'teal'], [215, 'blue'], [270, 'purple'], [320, 'pink'], [345, 'red']];

function hueName(r, g, b) {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max - min < 12) return 'grey';
  let h = max === r ? (g - b) / (max - min) : max === g ? 2 + (b - r) / (max - min) : 4 + (r - g) / (max - min);
  h = (h * 60 + 360) % 360;
  let name = 'red';
  for (const [start, n] of NAMES) if (h >= start) name = n;
  return name;
}

const rows = readFileSync(values.manifest, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const out = [];
for (const row of rows) {
  try {
    const { channels } = await sharp(row.path).stats();
    const [r, g, b] = channels.map((c) => c.mean);
    const light = (r + g + b) / 3 > 110 ? 'bright' : 'dark';
    out.push({ id: row.id, caption: `a ${light} ${hueName(r, g, b)} pattern of stripes with a round shape` });
  } catch (e) {
    console.error(`${row.path}: ${e.message}`); // left uncaptioned: captions/import reports it
  }
}
writeFileSync(values.out, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`${out.length}/${rows.length} images captioned`);
