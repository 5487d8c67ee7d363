import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/ingest/source-spec.js';

describe('names of sources given by URL', () => {
  it('are made of host and last path part, never of the user name, password or query', () => {
    // The name is in log lines, /metrics labels, dashboard tiles and output file names.
    const cases: [string, string][] = [
      ['rtsp://cam:S3cret@10.0.0.5/Streaming/Channels/101', '10.0.0.5-101'],
      ['rtsp://cam:Hash#Secret2@10.0.0.5/cam', '10.0.0.5-cam'],
      ['rtsp://cam:Q?Secret6@10.0.0.5/cam', '10.0.0.5-cam'],
      ['rtsp://cam:Space Secret4@10.0.0.5/cam', '10.0.0.5-cam'],
      ['rtsp://adm@site:UserAtSecret1@10.0.0.5/cam', '10.0.0.5-cam'],
      ['rtsp://UserOnlyToken5@10.0.0.5/cam', '10.0.0.5-cam'],
      ['http://cams.example.org/monday.mp4?token=QuerySecret7', 'cams.example.org-monday.mp4'],
      ['rtsp://192.168.1.10/user=admin&password=PathSecret8&channel=1&stream=0.sdp', '192.168.1.10-user_admin_password_channel_1_stream_0.sdp'],
      ['rtsp://192.168.1.10:554/user=admin_password=PathSecret9_channel=1_stream=0.sdp', '192.168.1.10-user_admin_password__channel_1_stream_0.sdp'],
      ['rtsp://192.168.1.10/user=admin&pw=PathSecret10&channel=1', '192.168.1.10-user_admin_pw_channel_1'],
      ['rtsp://admin:Slash/Secret11@10.0.0.5/cam', '10.0.0.5-cam'],
    ];
    for (const [url, name] of cases) expect(parseSource(url).name).toBe(name);
  });
});
