// `pipe ui`: the experiment page served live from the results store, on 127.0.0.1 only and read-only
// (GET only; the store is only queried). The page polls /api/stamp and reloads its content when a run
// starts, commits metrics or finishes. node:http is enough for two GET routes.
import { createServer } from 'node:http';
import { UsageError } from '../../engine/errors.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';
import { experimentPage } from '../page.js';
import { selectRuns, withStore } from '../results.js';

const USAGE = `usage: pipe ui [FILE] [--port N] [--last N] [--metrics GLOB] [--workspace DIR]

Serves the page of \`pipe exp show --html\` at http://127.0.0.1:PORT/ (default port 8765; 0 picks a free
one), re-reading the store on every request; the page refreshes itself when the store changes.`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  port: { type: 'string' },
  last: { type: 'string', short: 'n' },
  metrics: { type: 'string', short: 'm' },
} as const;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const port = Number(values.port ?? 8765);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number, got "${values.port}"`, USAGE);
    const workspace = workspaceOf(values);
    return withStore('ui', workspace, async (store) => {
      const page = (): Promise<string> => {
        const runs = selectRuns(store, workspace, { file: positionals[0], last: values.last }, USAGE);
        return experimentPage(store, workspace, { runs, ...(values.metrics !== undefined ? { metrics: values.metrics } : {}) }, true);
      };
      const server = createServer((req, res) => {
        if (req.method !== 'GET') {
          res.writeHead(405, { allow: 'GET' }).end('read-only\n');
          return;
        }
        const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
        if (path === '/api/stamp') {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ stamp: store.changeStamp() }));
        } else if (path === '/') {
          page().then(
            (html) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html),
            (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
          );
        } else res.writeHead(404).end('not found\n');
      });
      await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
      const address = server.address();
      process.stdout.write(`pipe ui: http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/ (Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          server.close(() => done());
          // The page's polling keeps a connection alive; close it so the process can end.
          server.closeAllConnections();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return EXIT_OK;
    });
  });
}
