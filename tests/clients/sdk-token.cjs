#!/usr/bin/env node
// Ask the unmodified Camunda 8 Node.js SDK (@camunda8/sdk, pinned in
// package.json) for an access token, exactly as it does before every Zeebe
// call (gRPC GrpcClient.getAuthToken and CamundaRestClient.getHeaders both
// await oAuthProvider.getHeaders('ZEEBE')).  The SDK is configured only by
// its own environment variables:
//
//   CAMUNDA_OAUTH_URL=http://127.0.0.1:PORT/oauth/token   the full token URL
//   ZEEBE_CLIENT_ID=ID  ZEEBE_CLIENT_SECRET=SECRET
//   ZEEBE_TOKEN_AUDIENCE=AUD   (default zeebe.camunda.io; CAMUNDA_ZEEBE_OAUTH_AUDIENCE
//                               takes precedence over it)
//   CAMUNDA_TOKEN_SCOPE=SCOPE  (optional; sent as is, not url-encoded)
//   CAMUNDA_AUTH_STRATEGY=OAUTH (optional: the SDK picks OAUTH by itself when
//                               it is unset and the URL, id and secret are set)
//   CAMUNDA_TOKEN_DISK_CACHE_DISABLE=true | CAMUNDA_TOKEN_CACHE_DIR=DIR
//
//   node tests/clients/sdk-token.cjs [AUDIENCE_TYPE]
//
// AUDIENCE_TYPE is the SDK's name of the API the token is for: ZEEBE (the
// default), OPERATE, TASKLIST, OPTIMIZE, CONSOLE or MODELER; each has its
// own audience variable (CAMUNDA_OPERATE_OAUTH_AUDIENCE, ...).
//
// The SDK's file cache: by default it keeps every token in
// $HOME/.camunda/oauth-token-ID-AUDIENCE_TYPE.json and reads it back in the
// next process.  When neither CAMUNDA_TOKEN_DISK_CACHE_DISABLE nor
// CAMUNDA_TOKEN_CACHE_DIR is set, this script sets
// CAMUNDA_TOKEN_DISK_CACHE_DISABLE=true, so that a test never writes into
// $HOME nor gets a token from an earlier run without a request.
//
// What the SDK (8.8.13) does, read from its source and seen on the wire:
// - one POST to CAMUNDA_OAUTH_URL, no discovery; http:// is accepted as
//   well as https://, and so is got's Unix socket form
//   http://unix:/path/to.sock:/oauth/token (Host: unix);
// - the body is built by hand, in this order:
//     audience=AUD&client_id=ID&client_secret=SECRET&grant_type=client_credentials[&scope=SCOPE]
//   id and secret through encodeURIComponent (space as %20), audience and
//   scope not encoded at all (a space stays a space, an & splits them);
//   headers content-type application/x-www-form-urlencoded, accept */*,
//   accept-encoding gzip, deflate, br, user-agent camunda8-sdk-nodejs/VERSION;
// - the reply's access_token must be a JWT: the SDK decodes it (no check of
//   the signature) and caches it until its "exp" less
//   CAMUNDA_OAUTH_TOKEN_REFRESH_THRESHOLD_MS (default 1000); a token that
//   is not a JWT fails;
// - got retries a 429 or 503 reply and a refused connection twice (after
//   about 1 s and 2 s, or as a Retry-After header says), then fails; a 401
//   fails at once; each attempt times out after 30 s.
//
// stdout, on success (exit 0), two lines:
//   token <first 16 characters>... len N
//   expiry EPOCH (ISO 8601) in Ns
// where EPOCH is the expiry the SDK computed and caches by: the access
// token's JWT "exp" claim (it ignores expires_in, and fails on a token that
// is not a JWT).  On failure the error goes to stderr, exit 1.  The SDK's
// own log lines (winston, which writes to stdout) are sent to stderr too.
'use strict';

if (process.env.CAMUNDA_TOKEN_DISK_CACHE_DISABLE === undefined &&
    process.env.CAMUNDA_TOKEN_CACHE_DIR === undefined) {
  process.env.CAMUNDA_TOKEN_DISK_CACHE_DISABLE = 'true';
}
// Keep stdout for the two result lines: winston's Console transport writes
// through console._stdout.
console._stdout = process.stderr;

function fail(err) {
  process.stderr.write(`sdk-token: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

async function main() {
  const audienceType = process.argv[2] || 'ZEEBE';
  if (process.argv.length > 3 || !/^[A-Z]+$/.test(audienceType)) {
    throw new Error('usage: sdk-token.cjs [AUDIENCE_TYPE]');
  }
  const { Camunda8, Auth } = require('@camunda8/sdk');
  const c8 = new Camunda8();
  // The provider the SDK built from the environment and hands to each of
  // its API clients (a TypeScript-private field, plain in JavaScript).
  const provider = c8.oAuthProvider;
  if (!(provider instanceof Auth.OAuthProvider)) {
    throw new Error(`the SDK chose ${provider && provider.constructor.name}, not OAuthProvider ` +
      '(set CAMUNDA_OAUTH_URL, ZEEBE_CLIENT_ID and ZEEBE_CLIENT_SECRET, or CAMUNDA_AUTH_STRATEGY=OAUTH)');
  }
  const headers = await provider.getHeaders(audienceType);
  const m = /^Bearer (.+)$/.exec(headers.authorization || '');
  if (!m) throw new Error(`no Bearer authorization header from the SDK: ${JSON.stringify(Object.keys(headers))}`);
  const token = m[1];
  const cached = provider.tokenCache[provider.getCacheKey(provider.clientId, audienceType)];
  if (!cached || typeof cached.expiry !== 'number') throw new Error('the SDK cached no expiry for the token');
  const left = cached.expiry - Math.floor(Date.now() / 1000);
  process.stdout.write(`token ${token.slice(0, 16)}... len ${token.length}\n` +
    `expiry ${cached.expiry} (${new Date(cached.expiry * 1000).toISOString()}) in ${left}s\n`);
}

main().catch(fail);
