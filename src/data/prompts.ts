// Text prompts of CLIP-E: SC (one per class), SSC (one per class x synonym) and IC (one per captioned
// image), from templates. Training pairs images with SC/SSC prompts by (taxonomy, class) and with IC
// prompts by image id; zero-shot evaluation uses the SC (and SSC) prompts of the target taxonomy.
import type { PromptRow } from '../formats.js';
import type { CaptionRow } from './captions.js';
import { dataError } from './errors.js';
import type { SynonymTable } from './synonyms.js';
import type { Taxonomy } from './taxonomy.js';

/** Named templates: the paper's SC form, the authors' notebook form, and the notebooks' binary form. */
export const TEMPLATES: Readonly<Record<string, string>> = {
  paper: 'a photo that seems to express {class}',
  notebook: 'a photo that evokes {class}',
  binary: 'a photo that evokes a {class} feeling',
};

/** A template name of TEMPLATES, or a literal template with a `{class}` placeholder. */
export function resolveTemplate(nameOrTemplate: string): string {
  const t = TEMPLATES[nameOrTemplate] ?? nameOrTemplate;
  if (!t.includes('{class}')) {
    throw dataError(`prompt template "${nameOrTemplate}"`, 'is neither a template name nor a text with a {class} placeholder', `Names: ${Object.keys(TEMPLATES).join(', ')}.`);
  }
  return t;
}

/** Class text in prompts: the display name, lower-case. */
export function promptText(template: string, className: string): string {
  return template.replaceAll('{class}', className.toLowerCase());
}

export interface PromptTemplates {
  /** Template for multi-class taxonomies (default: the paper's). */
  readonly template: string;
  /** Template for binary (positive/negative) taxonomies; default: `template`. */
  readonly binary?: string;
}

function templateFor(tax: Taxonomy, t: PromptTemplates): string {
  return resolveTemplate(tax.binary && t.binary ? t.binary : t.template);
}

export function scPrompts(tax: Taxonomy, t: PromptTemplates): PromptRow[] {
  const template = templateFor(tax, t);
  return tax.classes.map((c) => ({ id: `sc/${tax.id}/${c.id}`, kind: 'sc', text: promptText(template, c.name), taxonomy: tax.id, class: c.id }));
}

export function sscPrompts(tax: Taxonomy, table: SynonymTable, t: PromptTemplates): PromptRow[] {
  if (table.taxonomy !== tax.id) throw dataError('prompts: synonyms', `table is for ${table.taxonomy}, not ${tax.id}`);
  const template = templateFor(tax, t);
  return tax.classes.flatMap((c) =>
    (table.synonyms[c.id] ?? []).map((w, i) => ({ id: `ssc/${tax.id}/${c.id}/${i}`, kind: 'ssc' as const, text: promptText(template, w), taxonomy: tax.id, class: c.id })),
  );
}

export function icPrompts(captions: readonly CaptionRow[]): PromptRow[] {
  return captions.map((c) => ({ id: `ic/${c.id}`, kind: 'ic', text: c.text, image: c.id }));
}
