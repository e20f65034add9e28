// `pipe` entry point: dispatches to a lazily loaded command module; returns the exit code.
import { asEnvironmentError, EXIT_ENVIRONMENT } from '../store/environment.js';
import { COMMANDS, ENGINE_COMMANDS, STUDY_COMMANDS } from './commands.js';

const HELP = `pipe: declarative, cached experiment pipelines

usage: pipe COMMAND [options]   (pipe COMMAND --help for a command's options)

Exit codes: 0 success, 1 a stage failed, 2 invalid pipeline or usage, 3 the environment failed (a damaged
database, a full disk).
Docs: docs/engine.md, docs/pipeline-format.md`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const list = (group: typeof COMMANDS) => Object.entries(group).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`).join('\n');
    const text = `${HELP}\n\npipeline commands:\n${list(ENGINE_COMMANDS)}\n\nCLIP-E study commands:\n${list(STUDY_COMMANDS)}\n`;
    (cmd === undefined ? process.stderr : process.stdout).write(text);
    return cmd === undefined ? 2 : 0;
  }
  const command = COMMANDS[cmd];
  if (!command) {
    process.stderr.write(`pipe: unknown command "${cmd}"\n  hint: commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (e) {
    const env = asEnvironmentError(e);
    if (!env) throw e;
    process.stderr.write(`pipe: ${env.message}\n  hint: ${env.hint}\n`);
    return EXIT_ENVIRONMENT;
  }
}
