import { TOKEN_ENV } from './auth.js';

/** Whether only this machine can reach an address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host);
}

/** How a listening address is named to the user: '' and the wildcards are every address. */
export function listeningOn(host: string): string {
  return host === '' || host === '0.0.0.0' || host === '::' ? `every address (${host || '0.0.0.0'})` : host;
}

/**
 * Why a dashboard may not listen on `host` without a token (null when it may): beyond this machine
 * anyone who reaches the port would see the cameras, so that takes a token, or the user saying so.
 */
export function exposureRefusal(host: string, port: number, hasToken: boolean, allowNoToken: boolean): string | null {
  if (hasToken || allowNoToken || isLoopback(host)) return null;
  return (
    `dashboard: listening on ${listeningOn(host)} without an access token would show the cameras to anyone who reaches ${port === 0 ? 'its port' : `port ${port}`}: ` +
    `set ${TOKEN_ENV} (e.g. ${TOKEN_ENV}=$(openssl rand -hex 16)), --token or outputs.dashboard.token; ` +
    `or, to run it open on purpose, --allow-no-token (outputs.dashboard.allowNoToken: true)`
  );
}
