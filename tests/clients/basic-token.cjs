#!/usr/bin/env node
// A generic OAuth 2.0 client_credentials client that authenticates with an
// HTTP Basic header (client_secret_basic), as Python's pyzeebe does through
// requests-oauthlib: the unmodified simple-oauth2 library (pinned in
// package.json) with authorizationMethod 'header'.
//
//   node tests/clients/basic-token.cjs [TOKEN_URL [CLIENT_ID [CLIENT_SECRET [AUDIENCE [SCOPE]]]]]
//
// Each argument not given, or given as "", is taken from the environment:
//   OAUTH_TOKEN_URL  http://127.0.0.1:PORT/oauth/token (the full token URL)
//   OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
//   OAUTH_AUDIENCE   optional; sent as audience=... when not empty
//   OAUTH_SCOPE      optional; sent as scope=... when not empty
//   OAUTH_TIMEOUT_MS optional; the request's timeout (default 10000)
//   OAUTH_SOCKET     optional; a Unix socket to send the request to instead
//                    of TOKEN_URL's host and port (wreck's socketPath); the
//                    URL still gives the path, and the Host header
// Prefer the environment for the secret: arguments show in ps.
//
// The body is form-encoded (querystring: space as %20), the header is
// "Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 2.3.1; space as
// +, and ! ' ( ) * escaped too), and the reply must be application/json.
//
// stdout, on success (exit 0), two lines:
//   token <first 16 characters>... len N
//   expiry EPOCH (ISO 8601) in Ns
// where EPOCH is the expiry simple-oauth2 computed (now + expires_in, or
// expires_at).  On failure the error goes to stderr, exit 1.
'use strict';

function fail(err) {
  process.stderr.write(`basic-token: ${err && err.stack ? err.stack : err}\n`);
  if (err && err.data && err.data.payload) {
    process.stderr.write(`basic-token: the server said: ${JSON.stringify(err.data.payload)}\n`);
  }
  process.exit(1);
}

async function main() {
  const args = process.argv.slice(2);
  const arg = (i, name) => args[i] || process.env[name] || '';
  const tokenUrl = arg(0, 'OAUTH_TOKEN_URL');
  const clientId = arg(1, 'OAUTH_CLIENT_ID');
  const clientSecret = arg(2, 'OAUTH_CLIENT_SECRET');
  const audience = arg(3, 'OAUTH_AUDIENCE');
  const scope = arg(4, 'OAUTH_SCOPE');
  if (args.length > 5 || !tokenUrl || !clientId) {
    throw new Error('usage: basic-token.cjs [TOKEN_URL [CLIENT_ID [CLIENT_SECRET [AUDIENCE [SCOPE]]]]] ' +
      '(or OAUTH_TOKEN_URL, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_AUDIENCE, OAUTH_SCOPE)');
  }
  const timeout = Number(process.env.OAUTH_TIMEOUT_MS || 10000);
  const url = new URL(tokenUrl);

  const { ClientCredentials } = require('simple-oauth2');
  const client = new ClientCredentials({
    client: { id: clientId, secret: clientSecret },
    auth: { tokenHost: url.origin, tokenPath: url.pathname + url.search },
    options: { authorizationMethod: 'header', bodyFormat: 'form' },
  });
  const params = {};
  if (audience) params.audience = audience;
  if (scope) params.scope = scope;
  const httpOptions = { timeout };
  if (process.env.OAUTH_SOCKET) httpOptions.socketPath = process.env.OAUTH_SOCKET;
  const at = await client.getToken(params, httpOptions);
  const token = at.token.access_token;
  if (typeof token !== 'string' || token === '') throw new Error('no access_token in the reply');
  const line = `token ${token.slice(0, 16)}... len ${token.length}\n`;
  const exp = at.token.expires_at;
  if (!(exp instanceof Date)) {
    process.stdout.write(`${line}expiry none (no expires_in in the reply)\n`);
    return;
  }
  const epoch = Math.floor(exp.getTime() / 1000);
  process.stdout.write(`${line}expiry ${epoch} (${exp.toISOString()}) in ${epoch - Math.floor(Date.now() / 1000)}s\n`);
}

main().catch(fail);
