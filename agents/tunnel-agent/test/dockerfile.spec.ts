// The agent's image, checked without Docker: the `tunnel-agent` target of the one Dockerfile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../../../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const version = (JSON.parse(readFileSync(new URL('agents/tunnel-agent/package.json', root), 'utf8')) as { version: string }).version;

interface Stage {
  name: string | undefined;
  from: string;
  instructions: { keyword: string; args: string }[];
}

/** FROM-separated stages, continuation lines joined, comments left out. */
function stages(text: string): Stage[] {
  const result: Stage[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    const [, keyword, args] = match as unknown as [string, string, string];
    if (keyword === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      result.push({ name, from: from ?? '', instructions: [] });
    } else result.at(-1)?.instructions.push({ keyword, args: args.trim() });
  }
  return result;
}

describe("the tunnel agent's image", () => {
  const all = stages(dockerfile);
  const stage = (name: string) => {
    const found = all.find((s) => s.name === name);
    assert.ok(found, `stage ${name}`);
    return found;
  };

  it('is a target of its own, documented with the version the manifests name, and the service image stays the default', () => {
    assert.match(dockerfile, new RegExp(`docker build --target tunnel-agent -t flotilla/tunnel-agent:${version.replace(/\./g, '\\.')} \\.`));
    assert.equal(all.at(-1)?.name, 'runtime', 'the last stage (built without --target) is still the services');
  });

  it("installs only the agent's production dependencies and builds only the agent and the tunnel library", () => {
    const deps = stage('tunnel-agent-deps').instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(deps.some((run) => /npm ci --omit=dev --workspace @flotilla\/tunnel-agent\b/.test(run)), deps.join('\n'));
    const build = stage('tunnel-agent-build');
    const copied = build.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/)[0]);
    assert.deepEqual(copied, ['tsconfig.base.json', 'libs/tunnel', 'agents/tunnel-agent']);
    assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /tsc -b agents\/tunnel-agent\/tsconfig\.app\.json/.test(i.args) && /rm -rf libs\/tunnel\/dist\/src\/testing/.test(i.args)));
  });

  it('holds nothing else, runs the agent as uid 65532 (the manifest runs it as that), node taking SIGTERM itself', () => {
    const image = stage('tunnel-agent');
    assert.equal(image.from, 'base');
    const copies = image.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.deepEqual(copies, [
      '--from=tunnel-agent-deps /app/ ./',
      '--from=tunnel-agent-build /app/libs/tunnel/dist/src libs/tunnel/dist/src',
      '--from=tunnel-agent-build /app/agents/tunnel-agent/dist/src agents/tunnel-agent/dist/src',
    ]);
    assert.equal(image.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args, '65532:65532');
    const entrypoint = JSON.parse(image.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args ?? 'null') as string[] | null;
    assert.deepEqual(entrypoint, ['node', '--enable-source-maps', 'agents/tunnel-agent/dist/src/main.js']);
    assert.ok(!image.instructions.some((i) => i.keyword === 'CMD'), 'no shell in between');
  });
});
