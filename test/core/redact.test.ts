import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { redactSecrets } from '../../src/core/redact.js';
import { join } from 'node:path';
import { repoRoot } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

describe('secrets in camera URLs', () => {
  it('keeps user and host, not the password or a secret-looking query value', () => {
    expect(redactSecrets('rtsp://admin:S3cret@10.0.0.7:554/stream1')).toBe('rtsp://admin:***@10.0.0.7:554/stream1');
    // An @ in the password: it runs to the last @ before the host, as ffmpeg reads it.
    expect(redactSecrets('rtsp://admin:p@ss@cam.local:554/stream')).toBe('rtsp://admin:***@cam.local:554/stream');
    expect(redactSecrets('http://cam/video.mjpg?user=admin&pwd=S3cret&fps=5')).toBe('http://cam/video.mjpg?user=admin&pwd=***&fps=5');
    expect(redactSecrets('https://hooks.example/x?api_key=abc&token=def')).toBe('https://hooks.example/x?api_key=***&token=***');
    expect(redactSecrets('tcp error on rtsp://u:p@h/s: Connection refused')).toBe('tcp error on rtsp://u:***@h/s: Connection refused');
    // nothing secret: unchanged
    for (const plain of ['rtsp://10.0.0.7/stream1', '/data/clip.mp4', 'lavfi:testsrc2=size=160x120', 'rtsp://h/s and rtsp://h2:554/t']) expect(redactSecrets(plain)).toBe(plain);
  });

  it('hides passwords written unescaped, and a user name given alone (it may be a token)', () => {
    const cases: [string, string][] = [
      ['rtsp://adm@site:UserAtSecret1@host/cam', 'rtsp://adm@site:***@host/cam'],
      ['rtsp://cam:Space Secret4@host/cam', 'rtsp://cam:***@host/cam'],
      ['rtsp://cam:Hash#Secret2@host', 'rtsp://cam:***@host'],
      ['rtsp://cam:Q?Secret6@host/cam', 'rtsp://cam:***@host/cam'],
      ['rtsp://UserOnlyToken5@host/cam', 'rtsp://***@host/cam'],
      ['rtsp://admin@cam/s', 'rtsp://***@cam/s'],
      ['error: rtsp://cam:Space Secret4@host: Connection refused', 'error: rtsp://cam:***@host: Connection refused'],
      ['rtsp://a:S1@h/x then rtsp://b:S2@h2/y', 'rtsp://a:***@h/x then rtsp://b:***@h2/y'],
    ];
    for (const [url, shown] of cases) expect(redactSecrets(url)).toBe(shown);
    // Free text with a URL and, later on the line, an address: nothing is taken for a password.
    for (const plain of ['source rtsp://10.0.0.5 down; contact ops@example.com', '{"url":"rtsp://cam1","by":"bob@corp.com"}']) expect(redactSecrets(plain)).toBe(plain);
    // Cameras that take the credentials as path parameters.
    expect(redactSecrets('rtsp://192.168.1.10/user=admin&password=xyz&channel=1&stream=0.sdp')).toBe('rtsp://192.168.1.10/user=admin&password=***&channel=1&stream=0.sdp');
    // Shown text is left as it is when redacted again (a log of a status line).
    for (const [, shown] of cases) expect(redactSecrets(shown)).toBe(shown);
  });

  it('shows a camera that cannot be reached without its password, and says why it cannot', async () => {
    const p = new Pipeline({ model: join(repoRoot, 'models', 'xnorcam-traffic-320.xnor'), sources: [{ name: 'cam', url: 'rtsp://admin:S3cretPass@camera-7.invalid/stream1', mode: 'live' }], workers: 1 });
    await p.start();
    try {
      await until('the camera reported down', () => p.sources()[0].lastError !== undefined, 30_000);
      const s = p.sources()[0];
      expect(s.url).toBe('rtsp://admin:***@camera-7.invalid/stream1');
      expect(JSON.stringify(s)).not.toContain('S3cretPass');
      // ffmpeg's last line is a bare "Input/output error": the line before it says why.
      expect(s.lastError).toMatch(/resolve hostname camera-7\.invalid/i);
    } finally {
      await p.close();
    }
  }, 60_000);
});
