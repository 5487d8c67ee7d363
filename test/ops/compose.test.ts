import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validatePipelineText } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('deployment files', () => {
  it('docker-compose.yml validates offline with docker-compose config', () => {
    const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: root });
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
    const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const resolved = parse(r.stdout) as { services: Record<string, { logging?: { driver?: string; options?: Record<string, string> } }> };
    for (const [name, service] of Object.entries(resolved.services)) {
      expect(service.logging, name).toMatchObject({ driver: 'json-file', options: { 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.stringMatching(/^\d+$/) } });
    }
  });

  it('passes the dashboard token from the host\'s environment (or .env) through, empty when unset', () => {
    const resolvedToken = (env: NodeJS.ProcessEnv) => {
      const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8', cwd: root, env });
      expect(r.status, r.stderr).toBe(0);
      return (parse(r.stdout) as { services: Record<string, { environment?: Record<string, string> }> }).services.xnorcam.environment?.XNORCAM_DASHBOARD_TOKEN;
    };
    const { XNORCAM_DASHBOARD_TOKEN: _unset, ...without } = process.env;
    expect(resolvedToken({ ...without, XNORCAM_DASHBOARD_TOKEN: 'c0ffee-token-42' })).toBe('c0ffee-token-42');
    expect(resolvedToken(without)).toBe('');
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
