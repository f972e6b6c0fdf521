// Local OAuth 2.0 authorization server for tokencache's integration tests,
// demo and benchmark.  A thin configuration of oidc-provider (pinned in
// package.json), listening on the loopback interface only.
//
//   node server.js --clients FILE [--port N] [--ttl SECONDS] [--host 127.0.0.1|::1]
//                  [--lenient-auth]
//
// stdout carries exactly one line, "listening PORT", once the server accepts
// connections; everything else (oidc-provider notices, request errors) goes
// to stderr.  SIGTERM / SIGINT stop it with exit status 0.
//
// Token endpoint:  POST {issuer}/token   (issuer = http://127.0.0.1:PORT)
//   grant_type=client_credentials, client authentication by
//   client_secret_post or client_secret_basic (as registered per client).
//   - with resource=<absolute URI> (e.g. urn:tc:api or http://api.test/):
//     a signed JWT (RS256) access token whose aud is the resource;
//   - with audience=<absolute URI> and no resource: treated as resource
//     (Auth0 / Camunda style); a bare audience (zeebe.camunda.io, as
//     Camunda's are) likewise, and is the JWT's aud as sent;
//   - with neither: an opaque access token (introspectable).
//   Unlike plain oidc-provider (which takes client_secret_basic and
//   client_secret_post interchangeably), a client must use the method it is
//   registered with, else 401 invalid_client; --lenient-auth turns that off.
//   expires_in is --ttl for both kinds.
// Introspection:   POST {issuer}/token/introspection
// JWKS:            GET  {issuer}/jwks
// Discovery:       GET  {issuer}/.well-known/openid-configuration
// Test controls (not OAuth):
//   GET  /_stats   {"token_requests":N,"token_errors":N,"by_client":{"id":n}}
//   POST /_reset   zero the counters (and any pending /_fail, /_delay)
//   POST /_fail?count=N&status=S   the next N token requests fail with
//                  HTTP status S (default 503) and {"error":"temporarily_unavailable"}
//   POST /_delay?ms=N              delay every token response by N ms (0 = off)
//   POST /_delay?discovery_ms=N    delay every discovery document by N ms
//                  (and token responses by ms, 0 if not given)

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as querystring from 'node:querystring';
import { parseArgs } from 'node:util';

// Keep stdout for the single "listening" line: oidc-provider prints its
// development notices with console.info / console.log.
const toStderr = (...args) => {
  const line = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  // This one is expected: the counting middleware below reads the token
  // request body before oidc-provider does.
  if (line.includes('already parsed request body detected')) return;
  process.stderr.write(`${line}\n`);
};
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;
console.error = toStderr;

function die(msg) {
  process.stderr.write(`oauth-server: ${msg}\n`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      clients: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      host: { type: 'string', default: '127.0.0.1' },
      'lenient-auth': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  die(`${err.message}\nusage: node server.js --clients FILE [--port N] [--ttl SECONDS] [--host 127.0.0.1|::1] [--lenient-auth]`);
}

if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535) die(`bad --port: ${opts.port}`);
if (!/^\d+$/.test(opts.ttl) || Number(opts.ttl) < 1) die(`bad --ttl: ${opts.ttl}`);
if (opts.host !== '127.0.0.1' && opts.host !== '::1') die('--host must be 127.0.0.1 or ::1 (loopback only)');
if (!opts.clients) die('--clients FILE is required');

const TTL = Number(opts.ttl);
// A bare audience (not a URI) carried as a resource indicator.
const BARE_AUDIENCE = 'urn:tokencache-test:audience:';

let clients;
try {
  clients = JSON.parse(fs.readFileSync(opts.clients, 'utf8'));
} catch (err) {
  die(`cannot read clients file ${opts.clients}: ${err.message}`);
}
if (!Array.isArray(clients) || clients.length === 0) die('clients file must hold a non-empty JSON array');
const seenIds = new Set();
for (const c of clients) {
  if (c && seenIds.has(c.client_id)) die(`duplicate client_id ${c.client_id}`);
  if (c) seenIds.add(c.client_id);
  // private_key_jwt clients give their public keys (jwks) instead of a
  // secret; tls_client_auth clients the subject DN of their certificate
  // (tls_client_auth_subject_dn, as Node's X509Certificate.subject
  // spells it: "CN=name"), presented through tls-front.cjs.
  const keyed = c && ['private_key_jwt', 'tls_client_auth'].includes(c.token_endpoint_auth_method);
  if (!c || typeof c.client_id !== 'string' || (!keyed && typeof c.client_secret !== 'string')) {
    die('every client needs string client_id and client_secret');
  }
  c.grant_types ??= ['client_credentials'];
  c.response_types ??= [];
  c.redirect_uris ??= [];
  c.token_endpoint_auth_method ??= 'client_secret_basic';
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'].includes(c.token_endpoint_auth_method)) {
    die(`client ${c.client_id}: token_endpoint_auth_method must be client_secret_basic, client_secret_post, private_key_jwt or tls_client_auth`);
  }
}

// Every scope any client may ask for is a "static" scope, so that opaque
// (no resource) tokens keep their requested scopes; the per-client `scope`
// metadata is the allow-list (oidc-provider answers invalid_scope outside it).
const allScopes = new Set(['openid', 'offline_access']);
for (const c of clients) {
  for (const s of (c.scope || '').split(' ').filter(Boolean)) allScopes.add(s);
}

// Signing key, new every start.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  use: 'sig',
  alg: 'RS256',
};

// In-memory token store without the default adapter's 1000-entry LRU, so a
// benchmark issuing many opaque tokens does not evict the early ones.
// Expired entries are dropped lazily; the store is capped for safety.
const store = new Map();
const STORE_CAP = 500000;
const grantIndex = new Map();
function nowSec() { return Math.floor(Date.now() / 1000); }
class MemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    if (store.size >= STORE_CAP) {
      const t = nowSec();
      for (const [k, v] of store) if (v.exp && v.exp <= t) store.delete(k);
      if (store.size >= STORE_CAP) store.delete(store.keys().next().value);
    }
    const key = this.key(id);
    store.set(key, { payload, exp: expiresIn ? nowSec() + expiresIn : 0 });
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { payload: id, exp: 0 });
    if (payload.uid) store.set(`uid:${this.model}:${payload.uid}`, { payload: id, exp: 0 });
  }

  async find(id) {
    const e = store.get(this.key(id));
    if (!e) return undefined;
    if (e.exp && e.exp <= nowSec()) { store.delete(this.key(id)); return undefined; }
    return e.payload;
  }

  async findByUserCode(userCode) {
    const e = store.get(`userCode:${userCode}`);
    return e ? this.find(e.payload) : undefined;
  }

  async findByUid(uid) {
    const e = store.get(`uid:${this.model}:${uid}`);
    return e ? this.find(e.payload) : undefined;
  }

  async consume(id) {
    const e = store.get(this.key(id));
    if (e) e.payload.consumed = nowSec();
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (keys) for (const k of keys) store.delete(k);
    grantIndex.delete(grantId);
  }
}

const { default: Provider } = await import('oidc-provider');

// Listen first (port 0 => the kernel picks), then build the provider with
// the real issuer.
const httpServer = http.createServer();
await new Promise((resolve, reject) => {
  httpServer.once('error', reject);
  httpServer.listen(Number(opts.port), opts.host, resolve);
});
const { port } = httpServer.address();
const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
const issuer = `http://${hostInUrl}:${port}`;

const configuration = {
  adapter: MemoryAdapter,
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: [...allScopes],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'],
  features: {
    devInteractions: { enabled: false },
    // RFC 8705, behind tls-front.cjs: it terminates TLS, verifies the
    // client certificate against the test CA and passes it on in
    // x-tc-client-cert (URL-encoded PEM), having dropped any such header
    // a client sent.  Only for tests: this port itself is plain HTTP on
    // the loopback interface.
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      certificateBoundAccessTokens: true,
      getCertificate: (ctx) => {
        const h = ctx.get('x-tc-client-cert');
        return h ? decodeURIComponent(h) : undefined;
      },
      certificateAuthorized: (ctx) => ctx.get('x-tc-client-verified') === 'SUCCESS',
      certificateSubjectMatches: (ctx, property, expected) => {
        const h = ctx.get('x-tc-client-cert');
        if (!h || property !== 'tls_client_auth_subject_dn') return false;
        return new crypto.X509Certificate(decodeURIComponent(h)).subject === expected;
      },
    },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated client may introspect (verify.js checks that the
      // token belongs to the client it authenticates as).
      allowedPolicy: async () => true,
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource => no resource server => opaque token.
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resourceIndicator, client) => ({
        scope: client.scope || ctx.oidc.params.scope || '',
        audience: resourceIndicator.startsWith(BARE_AUDIENCE)
          ? resourceIndicator.slice(BARE_AUDIENCE.length) : resourceIndicator,
        accessTokenTTL: TTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  ttl: {
    AccessToken: TTL,
    ClientCredentials: TTL,
    Grant: TTL,
    Interaction: 600,
    Session: 86400,
    IdToken: 3600,
    AuthorizationCode: 60,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    RefreshToken: 86400,
  },
  // Default policy in production-like setups; not used by client_credentials.
  pkce: { required: () => false },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
};

let provider;
try {
  provider = new Provider(issuer, configuration);
} catch (err) {
  die(`oidc-provider configuration rejected: ${err.error_description || err.message}`);
}
provider.proxy = false;

// oidc-provider validates static clients lazily: do it now, so a bad clients
// file fails at startup rather than as invalid_client later.
for (const c of clients) {
  let found;
  try {
    found = await provider.Client.find(c.client_id);
  } catch (err) {
    die(`client ${c.client_id} rejected: ${err.error_description || err.message}`);
  }
  if (!found) die(`client ${c.client_id} rejected`);
}

const tokenPath = new URL(provider.urlFor('token')).pathname;

// ---- test controls and request counting -------------------------------
const stats = { token_requests: 0, token_errors: 0, by_client: {} };
let failRemaining = 0;
let failStatus = 503;
let delayMs = 0;
let delayDiscoveryMs = 0;

const authMethodOf = new Map(clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));

function clientIdFromRequest(ctx, body) {
  const auth = ctx.get('authorization');
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(auth || '');
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const raw = i >= 0 ? decoded.slice(0, i) : decoded;
    try {
      return decodeURIComponent(raw.replace(/\+/g, '%20'));
    } catch {
      return raw;
    }
  }
  if (body && typeof body.client_id === 'string') return body.client_id;
  return '';
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 56 * 1024) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/_stats' && ctx.method === 'GET') {
    ctx.type = 'json';
    ctx.body = JSON.stringify(stats);
    return;
  }
  if (ctx.path === '/_reset' && ctx.method === 'POST') {
    stats.token_requests = 0;
    stats.token_errors = 0;
    stats.by_client = {};
    failRemaining = 0;
    delayMs = 0;
    delayDiscoveryMs = 0;
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/_fail' && ctx.method === 'POST') {
    failRemaining = Math.max(0, parseInt(ctx.query.count ?? '1', 10) || 0);
    failStatus = parseInt(ctx.query.status ?? '503', 10) || 503;
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/_delay' && ctx.method === 'POST') {
    delayMs = Math.max(0, parseInt(ctx.query.ms ?? '0', 10) || 0);
    delayDiscoveryMs = Math.max(0, parseInt(ctx.query.discovery_ms ?? '0', 10) || 0);
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/.well-known/openid-configuration' && delayDiscoveryMs > 0) {
    await new Promise((r) => { setTimeout(r, delayDiscoveryMs); });
  }

  if (ctx.path !== tokenPath || ctx.method !== 'POST') {
    await next();
    return;
  }

  // Token endpoint: read the form body once, count, map `audience`, and
  // hand the (possibly rewritten) body to oidc-provider via req.body.
  let body = {};
  if (ctx.is('application/x-www-form-urlencoded')) {
    let raw;
    try {
      raw = await readBody(ctx.req);
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'failed to read the request body' };
      stats.token_requests += 1;
      stats.token_errors += 1;
      return;
    }
    body = querystring.parse(raw.toString('utf8'));
    if (body.audience !== undefined && body.resource === undefined) {
      // Camunda's audiences are bare names (zeebe.camunda.io), which
      // oidc-provider refuses as resource indicators: carried as a URN,
      // and given back as the token's aud as they were sent.
      body.resource = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(body.audience)
        ? body.audience : BARE_AUDIENCE + body.audience;
    }
    delete body.audience;
    ctx.req.body = querystring.stringify(body);
  }

  const id = clientIdFromRequest(ctx, body);
  stats.token_requests += 1;
  stats.by_client[id] = (stats.by_client[id] || 0) + 1;

  if (delayMs > 0) await new Promise((r) => { setTimeout(r, delayMs); });

  // Strict token_endpoint_auth_method (see top of file).
  const registered = authMethodOf.get(id);
  if (!opts['lenient-auth']
      && (registered === 'client_secret_basic' || registered === 'client_secret_post')) {
    const hasBasic = /^basic\s/i.test(ctx.get('authorization') || '');
    const used = hasBasic ? 'client_secret_basic'
      : (body.client_secret !== undefined ? 'client_secret_post' : undefined);
    if (used !== undefined && used !== registered) {
      stats.token_errors += 1;
      process.stderr.write(`oauth-server: token: client=${id} used ${used}, registered ${registered}: invalid_client\n`);
      ctx.status = 401;
      ctx.set('cache-control', 'no-store');
      if (hasBasic) ctx.set('www-authenticate', `Basic realm="${issuer}", error="invalid_client", error_description="client authentication failed"`);
      ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
      return;
    }
  }

  if (failRemaining > 0) {
    failRemaining -= 1;
    stats.token_errors += 1;
    ctx.status = failStatus;
    ctx.set('cache-control', 'no-store');
    if (failStatus === 429 || failStatus === 503) ctx.set('retry-after', '1');
    ctx.body = { error: 'temporarily_unavailable', error_description: 'injected failure (/_fail)' };
    return;
  }

  await next();
  if (ctx.status !== 200) stats.token_errors += 1;
});

provider.on('server_error', (ctx, err) => {
  process.stderr.write(`oauth-server: server_error: ${err.stack || err}\n`);
});
for (const ev of ['grant.error', 'introspection.error', 'revocation.error']) {
  provider.on(ev, (ctx, err) => {
    const cid = ctx?.oidc?.client?.clientId || '-';
    process.stderr.write(`oauth-server: ${ev}: client=${cid} ${err.name}: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}\n`);
  });
}

httpServer.on('request', provider.callback());
httpServer.keepAliveTimeout = 5000;

process.stderr.write(`oauth-server: issuer ${issuer} token_endpoint ${provider.urlFor('token')} `
  + `introspection ${provider.urlFor('introspection')} jwks ${provider.urlFor('jwks')} `
  + `ttl ${TTL}s auth ${opts['lenient-auth'] ? 'lenient' : 'strict'} clients ${clients.map((c) => `${c.client_id}(${c.token_endpoint_auth_method})`).join(',')}\n`);

function shutdown() {
  httpServer.close();
  httpServer.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

process.stdout.write(`listening ${port}\n`);
