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
    for (const plain of ['rtsp://10.0.0.7/stream1', 'rtsp://admin@cam/s', '/data/clip.mp4', 'lavfi:testsrc2=size=160x120']) expect(redactSecrets(plain)).toBe(plain);
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
