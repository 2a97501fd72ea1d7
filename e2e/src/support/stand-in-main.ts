// The stand-in Kubernetes API server as its own process, so a test can run it where only the
// tunnel agent can reach it (a network namespace). Configured by environment, driven by JSON lines
// on stdin, reports on stdout:
//   env     STANDIN_CERT_FILE, STANDIN_KEY_FILE, STANDIN_TOKEN, STANDIN_GIT_VERSION
//   stdin   {"op":"secret","namespace","name","stringData"} | {"op":"pod","namespace","name"} | {"op":"show-secret","namespace","name"}
//   stdout  {"ready":"https://127.0.0.1:<port>"}, then {"request":{...}} for every request it serves and {"secret":{...}} answers
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StandInApiServer } from '@flotilla/tunnel/testing';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const server = new StandInApiServer({
  cert: readFileSync(env('STANDIN_CERT_FILE')),
  key: readFileSync(env('STANDIN_KEY_FILE')),
  tokens: [env('STANDIN_TOKEN')],
  gitVersion: process.env['STANDIN_GIT_VERSION'] ?? 'v1.32.4',
  nodes: ['node-1', 'node-2'],
});
await server.listen(0, '127.0.0.1');
const say = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
say({ ready: server.url });

let reported = 0;
setInterval(() => {
  for (; reported < server.requests.length; reported++) say({ request: server.requests[reported] });
}, 50).unref();

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { op: string; namespace: string; name: string; stringData?: Record<string, string> };
  switch (command.op) {
    case 'secret':
      server.putSecret(command.namespace, command.name, command.stringData ?? {});
      return;
    case 'pod':
      server.addPod(command.namespace, command.name, { log: 'line one\nline two\n' });
      return;
    case 'show-secret':
      say({ secret: server.secret(command.namespace, command.name) ?? null });
      return;
  }
});
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
