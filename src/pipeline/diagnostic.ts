// How a located problem in a pipeline file is printed. Its own module so the CLI's error handling does
// not load the pipeline loader (yaml, ajv, the schema) for commands that never read a pipeline.
import type { Diagnostic } from './types.js';

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  return `${where}: error: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ''}`;
}
