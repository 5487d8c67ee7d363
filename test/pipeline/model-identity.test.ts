import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelIdentity } from '../../src/pipeline/model-identity.js';
import { xnorcam } from '../helpers/cli.js';
import { repoRoot, testModel } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';

/** The shell commands docs/pipeline.md gives to reproduce a model id, in its order (.xnor, then cfg + weights + names). */
function documentedCommands(): string[] {
  const doc = readFileSync(resolve(repoRoot, 'docs/pipeline.md'), 'utf8');
  const block = doc.slice(doc.indexOf('The model is shown as `file-name@hash`')).match(/```sh\n([^]*?)```/)![1];
  return block.trim().split('\n');
}

describe('model id', () => {
  const tmp = tempDir('xnorcam-model-id-');
  afterAll(() => tmp.cleanup());

  it('is reproduced by the shell commands docs/pipeline.md gives, for a .xnor and for cfg + weights + names', () => {
    const c = xnorcam(['convert', testModel.cfg, testModel.weights, '--names', testModel.names, '-o', join(tmp.dir, 'model.xnor')]);
    expect(c.status, c.stderr).toBe(0);
    copyFileSync(testModel.cfg, join(tmp.dir, 'net.cfg'));
    copyFileSync(testModel.weights, join(tmp.dir, 'net.weights'));
    copyFileSync(testModel.names, join(tmp.dir, 'coco.names'));
    const [xnor, darknet] = documentedCommands();
    const hashOf = (command: string) => execFileSync('sh', ['-c', command], { cwd: tmp.dir, encoding: 'utf8' }).trim();
    expect(modelIdentity(join(tmp.dir, 'model.xnor')).id).toBe(`model@${hashOf(xnor)}`);
    const files = { cfg: join(tmp.dir, 'net.cfg'), weights: join(tmp.dir, 'net.weights'), names: join(tmp.dir, 'coco.names') };
    expect(modelIdentity(files).id).toBe(`net@${hashOf(darknet)}`);
  });
});
