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

  it('hides passwords cameras take in their own ways: pw, psw, credentials, _-joined path parameters, a / in the password', () => {
    const cases: [string, string][] = [
      ['rtsp://cam/x?user=admin&pw=PwSecret1', 'rtsp://cam/x?user=admin&pw=***'],
      ['http://cam/cgi-bin/snapshot.cgi?user=admin&psw=PswSecret2&chn=1', 'http://cam/cgi-bin/snapshot.cgi?user=admin&psw=***&chn=1'],
      ['rtsp://cam/x?credentials=admin:CredSecret3&fps=5', 'rtsp://cam/x?credentials=***&fps=5'],
      // XMEye/Sofia DVRs: the pairs joined by _; the password ends at the next _key=.
      ['rtsp://cam/user=admin_password=S3_channel=1', 'rtsp://cam/user=admin_password=***_channel=1'],
      ['rtsp://10.0.0.9:554/user=admin_password=tlJwpbo6_channel=1_stream=0.sdp?real_stream', 'rtsp://10.0.0.9:554/user=admin_password=***_channel=1_stream=0.sdp?real_stream'],
      ['rtsp://10.0.0.9/user=admin_pw=Und_er_channel=1', 'rtsp://10.0.0.9/user=admin_pw=***_channel=1'],
      // A / in the password: the userinfo runs on to the @ before the host.
      ['rtsp://admin:pa/ss@cam/x', 'rtsp://admin:***@cam/x'],
      ['rtsp://admin:a/b/c@10.0.0.9:554/Streaming/Channels/101', 'rtsp://admin:***@10.0.0.9:554/Streaming/Channels/101'],
      ['rtsp://admin:pa/ss@h/x then rtsp://b:S2@h2/y', 'rtsp://admin:***@h/x then rtsp://b:***@h2/y'],
      ['error: rtsp://admin:pa/ss@cam/x: Connection refused', 'error: rtsp://admin:***@cam/x: Connection refused'],
    ];
    for (const [url, shown] of cases) expect(redactSecrets(url)).toBe(shown);
    for (const [, shown] of cases) expect(redactSecrets(shown)).toBe(shown);
    // Ordinary URLs keep every character: a port before a path with an @, "password" as a path segment,
    // _-joined pairs without a secret, a key that only contains the letters pw.
    for (const plain of [
      'rtsp://cam:554/live@main',
      'rtsp://10.0.0.5:554/x down; contact ops@example.com',
      'http://cam/password/reset',
      'rtsp://10.0.0.9:554/user=admin_channel=1_stream=0.sdp',
      'http://cam/x?pwr=on&user=bob',
      'rtsp://cam/h264_ch1_main',
    ])
      expect(redactSecrets(plain)).toBe(plain);
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
