// Check that an access token was issued by the local test server (server.js)
// and is currently valid.
//
//   node verify.js --port PORT (--token TOKEN | --token-file FILE)
//                  --client-id ID --client-secret SECRET
//                  [--auth-method client_secret_basic|client_secret_post]
//                  [--audience AUD] [--host 127.0.0.1|::1]
//
// A JWT (three base64url parts) is verified against the server's JWKS
// (signature, iss = http://HOST:PORT, exp/nbf, client_id = ID, and aud when
// --audience is given).  Anything else is sent to the introspection endpoint,
// authenticated as ID/SECRET, and must come back active:true with
// client_id = ID.  --token-file reads the token from a file ("-" = stdin),
// trailing whitespace stripped, so it never appears on a command line.
//
// --token-lines FILE checks every distinct line of FILE, each of which must
// be a JWT, with one fetch of the JWKS: "valid jwt N" when all N are.
//
// Exit 0 and print "valid jwt" or "valid opaque"; exit 1 with
// "invalid: REASON" on stderr when the token is not valid; exit 2 on usage
// or connection errors.  Only ever connects to 127.0.0.1 / ::1.

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createLocalJWKSet, jwtVerify } from 'jose';

function fail(reason) {
  process.stderr.write(`invalid: ${reason}\n`);
  process.exit(1);
}

function usage(msg) {
  process.stderr.write(`verify.js: ${msg}\nusage: node verify.js --port PORT (--token TOKEN | --token-file FILE) --client-id ID --client-secret SECRET [--auth-method client_secret_basic|client_secret_post] [--audience AUD] [--host 127.0.0.1|::1]\n`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'token-lines': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'auth-method': { type: 'string' },
      audience: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  usage(err.message);
}

if (!opts.port || !/^\d+$/.test(opts.port) || Number(opts.port) < 1 || Number(opts.port) > 65535) usage('--port PORT is required');
if (opts.host !== '127.0.0.1' && opts.host !== '::1') usage('--host must be 127.0.0.1 or ::1');
if (opts['client-id'] === undefined || opts['client-secret'] === undefined) usage('--client-id and --client-secret are required');
if (opts['auth-method'] !== undefined
    && !['client_secret_basic', 'client_secret_post'].includes(opts['auth-method'])) {
  usage('--auth-method must be client_secret_basic or client_secret_post');
}

let token = opts.token;
if (opts['token-file'] !== undefined) {
  if (token !== undefined) usage('give only one of --token and --token-file');
  try {
    token = fs.readFileSync(opts['token-file'] === '-' ? 0 : opts['token-file'], 'utf8').replace(/\s+$/, '');
  } catch (err) {
    usage(`cannot read token file: ${err.message}`);
  }
}
let lines;
if (opts['token-lines'] !== undefined) {
  if (token !== undefined) usage('give only one of --token, --token-file and --token-lines');
  try {
    lines = [...new Set(fs.readFileSync(opts['token-lines'], 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== ''))];
  } catch (err) {
    usage(`cannot read token file: ${err.message}`);
  }
  if (lines.length === 0) fail('no token in the file');
  token = lines[0];
}
if (token === undefined) usage('--token or --token-file is required');
if (token === '') fail('empty token');

const clientId = opts['client-id'];
const clientSecret = opts['client-secret'];
const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
const base = `http://${hostInUrl}:${opts.port}`;

// Refuse to follow any URL that is not on the loopback server we were given.
function local(url) {
  const u = new URL(url);
  if (u.origin !== base) usage(`server advertised a non-local URL: ${url}`);
  return u.href;
}

async function get(url, init) {
  try {
    return await fetch(local(url), { ...init, redirect: 'manual', signal: AbortSignal.timeout(10000) });
  } catch (err) {
    usage(`cannot reach ${url}: ${err.cause?.code || err.cause?.errors?.[0]?.code || err.cause?.message || err.message}`);
  }
  return undefined;
}

const discRes = await get(`${base}/.well-known/openid-configuration`);
if (!discRes.ok) usage(`discovery returned HTTP ${discRes.status}`);
const disc = await discRes.json();
if (disc.issuer !== base) usage(`unexpected issuer ${disc.issuer}, expected ${base}`);

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const looksLikeJwt = jwtShape.test(token);

if (lines && !looksLikeJwt) fail('jwt: a line is not a JWT');
if (looksLikeJwt) {
  const jwksRes = await get(disc.jwks_uri);
  if (!jwksRes.ok) usage(`jwks returned HTTP ${jwksRes.status}`);
  const jwks = createLocalJWKSet(await jwksRes.json());
  for (const t of lines || [token]) {
    if (!jwtShape.test(t)) fail('jwt: a line is not a JWT');
    let payload;
    try {
      ({ payload } = await jwtVerify(t, jwks, {
        issuer: disc.issuer,
        audience: opts.audience,
        typ: 'at+jwt',
      }));
    } catch (err) {
      fail(`jwt: ${err.code || err.name}: ${err.message}`);
    }
    if (payload.client_id !== clientId) fail(`jwt: client_id is ${JSON.stringify(payload.client_id)}, expected ${JSON.stringify(clientId)}`);
    if (typeof payload.exp !== 'number') fail('jwt: no exp claim');
  }
  process.stdout.write(lines ? `valid jwt ${lines.length}\n` : 'valid jwt\n');
  process.exit(0);
}

async function introspect(method) {
  const form = new URLSearchParams({ token });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (method === 'client_secret_basic') {
    const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', clientId);
    form.set('client_secret', clientSecret);
  }
  const res = await get(disc.introspection_endpoint, { method: 'POST', headers, body: form.toString() });
  let body;
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  return { status: res.status, body };
}

if (!disc.introspection_endpoint) usage('server has no introspection endpoint');
let r;
if (opts['auth-method']) {
  r = await introspect(opts['auth-method']);
} else {
  r = await introspect('client_secret_basic');
  if (r.status === 401 || r.status === 400) r = await introspect('client_secret_post');
}
if (r.status !== 200) fail(`introspection: HTTP ${r.status} ${r.body.error || ''} ${r.body.error_description || ''}`.trim());
if (r.body.active !== true) fail('introspection: token is not active');
if (r.body.client_id !== clientId) fail(`introspection: client_id is ${JSON.stringify(r.body.client_id)}, expected ${JSON.stringify(clientId)}`);
if (opts.audience !== undefined) {
  const aud = Array.isArray(r.body.aud) ? r.body.aud : [r.body.aud];
  if (!aud.includes(opts.audience)) fail(`introspection: aud ${JSON.stringify(r.body.aud)} does not include ${JSON.stringify(opts.audience)}`);
}
process.stdout.write('valid opaque\n');
process.exit(0);
