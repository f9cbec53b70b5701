/**
 * deploy/Dockerfile and deploy/Dockerfile.gpu, checked without a Docker engine: multi-stage, a
 * runtime stage that runs as a non-root user and holds only what runs, the rnnstream entry point,
 * and build steps that are the commands this repository runs and tests (npm scripts that exist,
 * scripts/ files that exist, the lockfile install), with tfjs-node-gpu pinned to our tfjs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { DockerfileParser, type Copy, type Dockerfile, type Instruction } from 'dockerfile-ast';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

function stages(dockerfile: Dockerfile): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile
        .getFROMs()
        .find((f) => f.getRange().start.line === instruction.getRange().start.line);
      result.push({ name: from?.getBuildStage() ?? undefined, instructions: [] });
    } else result.at(-1)?.instructions.push(instruction);
  }
  return result;
}

/** RUN commands without their --mount flags, leading VAR=value assignments and line breaks. */
function runCommands(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) =>
      i
        .getArguments()
        .map((a) => a.getValue())
        .join(' '),
    )
    .flatMap((command) => command.split(/\s*&&\s*/))
    .map((command) => command.replace(/^(\w+=\S+\s+)+/, '').trim());
}

const TFJS_NODE_VERSION: string = pkg.optionalDependencies['@tensorflow/tfjs-node'];

for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
  describe(`deploy/${file}`, () => {
    const text = readFileSync(path.join(root, 'deploy', file), 'utf8');
    const dockerfile = DockerfileParser.parse(text);
    const all = stages(dockerfile);
    const build = all.find((s) => s.name === 'build')!;
    const runtime = all.at(-1)!;

    it('builds in a build stage and runs from a separate runtime stage', () => {
      assert.ok(build, 'a stage named build');
      assert.equal(runtime.name, 'runtime');
      assert.notEqual(build, runtime);
    });

    it('runs as a numeric non-root user, with the rnnstream entry point', () => {
      const user = runtime.instructions.filter((i) => i.getKeyword() === 'USER').at(-1);
      assert.ok(user, 'the runtime stage sets USER');
      const [uid, gid] = user.getArgumentsContent()!.split(':');
      assert.match(uid!, /^\d+$/, 'numeric, so that Kubernetes runAsNonRoot can verify it');
      assert.notEqual(Number(uid), 0);
      if (gid !== undefined) assert.notEqual(Number(gid), 0);
      const entrypoint = runtime.instructions.find((i) => i.getKeyword() === 'ENTRYPOINT');
      assert.deepEqual(JSON.parse(entrypoint!.getArgumentsContent()!), [
        'node',
        'bin/rnnstream.js',
      ]);
      assert.ok(existsSync(path.join(root, 'bin', 'rnnstream.js')));
    });

    it('installs from the lockfile and builds with the repository commands', () => {
      const commands = runCommands(build);
      assert.ok(
        commands.some((c) => /^npm ci\b/.test(c)),
        `npm ci in ${commands.join(' | ')}`,
      );
      assert.ok(commands.includes('npm run build'));
      for (const c of commands) {
        const script = /^npm run (\S+)/.exec(c)?.[1];
        if (script) assert.ok(pkg.scripts[script], `package.json has script ${script}`);
        const nodeScript = /^node (scripts\/\S+)/.exec(c)?.[1];
        if (nodeScript) assert.ok(existsSync(path.join(root, nodeScript)), `${nodeScript} exists`);
      }
      if (file === 'Dockerfile')
        assert.ok(
          commands.includes('node scripts/setup-tensorflow.mjs'),
          'the addon is built by our setup script',
        );
    });

    it('copies into the build only files of the repository', () => {
      for (const stage of all)
        for (const copy of stage.instructions.filter((i) => i.getKeyword() === 'COPY')) {
          if ((copy as Copy).getFromFlag()) continue;
          const args = copy.getArguments().map((a) => a.getValue());
          for (const source of args.slice(0, -1))
            assert.ok(existsSync(path.join(root, source)), `COPY ${source}`);
        }
    });

    it('ships only package.json, bin/, examples/, the compiled services and production modules', () => {
      // The Node.js binary of the official image, where the base image has none (GPU), is the runtime.
      const copied = runtime.instructions
        .filter(
          (i) => i.getKeyword() === 'COPY' && (i as Copy).getFromFlag()?.getValue() !== 'node',
        )
        .map((i) => i.getArguments().at(-1)!.getValue().replace(/^\.\//, ''));
      assert.deepEqual(copied.sort(), [
        'bin',
        'dist/services',
        'dist/shared',
        'examples',
        'node_modules',
        'package.json',
      ]);
      assert.ok(
        runCommands(build).some((c) => c.startsWith('npm prune --omit=dev')),
        'dev dependencies are pruned',
      );
    });

    if (file === 'Dockerfile.gpu') {
      it('installs tfjs-node-gpu at our tfjs version on CUDA 11.2 / cuDNN 8 (libtensorflow 2.9)', () => {
        const install = runCommands(build).find((c) => c.includes('@tensorflow/tfjs-node-gpu@'));
        assert.ok(install, 'an npm install of @tensorflow/tfjs-node-gpu');
        assert.equal(/tfjs-node-gpu@(\S+)/.exec(install)![1], TFJS_NODE_VERSION);
        assert.equal(pkg.dependencies['@tensorflow/tfjs'], TFJS_NODE_VERSION);
        const cuda = /ARG CUDA_IMAGE=(\S+)/.exec(text)?.[1];
        assert.match(cuda ?? '', /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu/);
      });
    }
  });
}

describe('.dockerignore', () => {
  it('keeps the host node_modules and dist out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), entry);
  });
});
