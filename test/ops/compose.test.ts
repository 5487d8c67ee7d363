import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validatePipelineText } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** `docker-compose config` as a user with a token set would run it (compose refuses to go on without one). */
const composeConfig = () =>
  spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: root, env: { ...process.env, XNORCAM_DASHBOARD_TOKEN: '5f0c2a91e3d47b68' } });

describe('deployment files', () => {
  it('docker-compose.yml validates offline with docker-compose config', () => {
    const r = composeConfig();
    expect(r.error, 'docker-compose must be installed (.ci/run installs it)').toBeUndefined();
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    const resolved = parse(r.stdout) as { services: Record<string, { ports?: unknown[]; command?: string[] }> };
    expect(Object.keys(resolved.services).sort()).toEqual(['publisher', 'rtsp', 'xnorcam']);
    expect(JSON.stringify(resolved.services.xnorcam.ports)).toContain('8080');
    expect(JSON.stringify(resolved.services.rtsp.ports)).toContain('8554');
  });

  it('mounts the pipelines folder read-only, not the pipeline file alone (a rename-on-save edit would never show)', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes?: string[]; command?: string[] }> };
    const xnorcam = compose.services.xnorcam;
    expect(xnorcam.volumes).toContain('./pipelines:/app/pipelines:ro');
    expect(xnorcam.volumes!.filter((v) => /\.ya?ml(:|$)/.test(v))).toEqual([]);
    expect(xnorcam.command).toEqual(['run', 'pipelines/docker.yaml']);
  });

  it('bounds every container\'s log (json-file max-size and max-file): Docker keeps it all by default', () => {
    const r = composeConfig();
    expect(r.status, r.stderr).toBe(0);
    const resolved = parse(r.stdout) as { services: Record<string, { logging?: { driver?: string; options?: Record<string, string> } }> };
    for (const [name, service] of Object.entries(resolved.services)) {
      expect(service.logging, name).toMatchObject({ driver: 'json-file', options: { 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.stringMatching(/^\d+$/) } });
    }
  });

  it('passes the dashboard token from the host\'s environment (or .env) through, and refuses to go on without one, saying how to set it', () => {
    const config = (env: NodeJS.ProcessEnv) => spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: root, env });
    const { XNORCAM_DASHBOARD_TOKEN: _unset, ...without } = process.env;
    const r = config({ ...without, XNORCAM_DASHBOARD_TOKEN: 'c0ffee-token-42' });
    expect(r.status, r.stderr).toBe(0);
    expect((parse(r.stdout) as { services: Record<string, { environment?: Record<string, string> }> }).services.xnorcam.environment?.XNORCAM_DASHBOARD_TOKEN).toBe('c0ffee-token-42');
    // Port 8080 is published on every interface: unset or empty, the dashboard would be open to the network.
    for (const env of [without, { ...without, XNORCAM_DASHBOARD_TOKEN: '' }]) {
      const refused = config(env);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('set XNORCAM_DASHBOARD_TOKEN, the dashboard access token, in the shell or in .env beside docker-compose.yml');
      expect(refused.stderr).toContain('openssl rand -hex 16');
    }
  });

  it('keeps the .env the README has the token written to out of the repository and the image', () => {
    expect(spawnSync('git', ['check-ignore', '-q', '.env'], { cwd: root }).status).toBe(0);
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toContain('.env');
  });

  it('publishes the RTSP relay on this machine only: nothing outside the compose network needs it', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { ports?: string[] }> };
    expect(compose.services.rtsp.ports ?? []).toEqual(['127.0.0.1:8554:8554']);
  });

  it('the container runs a pipeline that validates and reads the RTSP stream the publisher writes', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const { config, problems } = validatePipelineText(readFileSync(join(root, 'pipelines', 'docker.yaml'), 'utf8'));
    expect(problems).toEqual([]);
    const url = config!.sources[0].url;
    expect(compose).toContain(url);
    expect(config!.outputs.dashboard.host).toBe('0.0.0.0');
  });

  it('the image carries everything the app reads at run time', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    // built outputs, the dashboard page, models and pipelines; the tree is in the build stage before npm ci
    for (const dir of ['dist', 'build', 'native/build', 'bin', 'models', 'pipelines', 'web', 'node_modules']) {
      expect(dockerfile, dir).toMatch(new RegExp(`^COPY --from=build /app/${dir.replace('/', '\\/')} `, 'm'));
    }
    expect(dockerfile.indexOf('COPY . .')).toBeLessThan(dockerfile.indexOf('RUN npm ci'));
  });

  it('the Dockerfile copies only paths that exist in the repository', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) if (s !== '.') expect(existsSync(join(root, s)), s).toBe(true);
  });
});
