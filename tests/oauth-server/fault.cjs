// A fault-injecting token endpoint: what a real OAuth server will not do
// on demand.  Plain node, no dependencies, loopback only.
//
//   node fault.cjs           prints "listening PORT OTHER_PORT" once ready
//
// Every path below is a token endpoint of its own (POST); the query string
// tunes it.  The second port, OTHER_PORT, is where /redirect points: it
// answers like /ok and counts what reaches it (nothing should).
//
//   /ok[?ttl=N]         a good reply, opaque token, expires_in N (3600)
//   /expires?v=JSON     a good reply whose expires_in is the raw JSON v
//   /stall              never answers
//   /close-mid          headers and half a body, then the connection drops
//   /endless            a body that never ends
//   /huge               a 3 MiB JSON reply
//   /status?code=C[&after=RA]   HTTP C with {"error":...}, and the header
//                       Retry-After: RA taken literally (seconds, garbage,
//                       negative ...); after=date:N sends an HTTP-date N
//                       seconds ahead
//   /html /empty /bad-json /no-token /empty-token /no-type /not-object
//                       malformed 200 replies
//   /token-bytes?kind=K a good 200 reply whose access_token has bytes no
//                       token may have: K is crlf (a header injected after
//                       CR LF), esc (terminal escapes), space, del (0x7F),
//                       high (UTF-8 above 0x7E), nul (\u0000)
//   /redirect           302 to OTHER_PORT
//   /jwt?ttl=N[&ttl_CLIENT=M]
//                       a good reply whose token is an (unsigned) JWT with
//                       exp = the current Unix second + N (M for the
//                       client CLIENT), expires_in the same; its arrival
//                       is also recorded as "PATH?QUERY#CLIENT_ID"
//   POST /_outage?on=1  until /_outage?on=0, every /jwt request gets a 503
//                       temporarily_unavailable (no Retry-After); the
//                       switches are recorded as "_outage:on" / ":off"
//   /form               a good reply; the form it was sent is recorded as
//                       "form:BODY" (client_secret and client_assertion
//                       values replaced by "*")
//   GET /.well-known/openid-configuration
//                       an OIDC discovery document: issuer
//                       http://127.0.0.1:PORT, token_endpoint .../ok,
//                       unless POST /_discovery?endpoint=URL[&issuer=URL]
//                       said otherwise (recorded as the path, as any)
//   GET  /_stats        {"PATH?QUERY": [ms timestamps of requests], ...}
//   POST /_reset        forget them

'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

const hits = {};
function record(path) {
  (hits[path] = hits[path] || []).push(Date.now());
}

function token() {
  return crypto.randomBytes(24).toString('base64url');
}

let outage = false;
const discovery = {};

// A JWT whose exp is whole seconds, as a real server's: the current
// second plus ttl.  The Date header says that same second (node's own
// is cached and may lag a second boundary by a few ms).
function jwt(res, ttl) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const tok = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iat: now, exp: now + ttl, jti: token() })}.x`;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    Date: new Date(now * 1000).toUTCString(),
  });
  res.end(JSON.stringify({ access_token: tok, token_type: 'Bearer', expires_in: ttl }));
}

function good(res, ttlJson) {
  const body = `{"access_token":"${token()}","token_type":"Bearer","expires_in":${ttlJson}}`;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(body);
}

function handle(req, res, otherPort) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  const q = url.searchParams;
  if (req.method === 'GET' && path === '/_stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(hits));
    return;
  }
  if (req.method === 'POST' && path === '/_outage') {
    outage = q.get('on') === '1';
    record(outage ? '_outage:on' : '_outage:off');
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method === 'POST' && path === '/_discovery') {
    discovery.endpoint = q.get('endpoint') ?? undefined;
    discovery.issuer = q.get('issuer') ?? undefined;
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method === 'POST' && path === '/_reset') {
    for (const k of Object.keys(hits)) delete hits[k];
    res.writeHead(204);
    res.end();
    return;
  }
  // Read the request body first, as a server would.
  let body = '';
  req.on('data', (d) => { if (body.length < 65536) body += d; });
  req.on('end', () => {
    record(req.url);
    const client = new URLSearchParams(body).get('client_id');
    if (path === '/jwt' && client) record(`${req.url}#${client}`);
    const json = (code, obj, headers = {}) => {
      res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(obj));
    };
    switch (path) {
      case '/ok':
        return good(res, String(Number(q.get('ttl') || 3600)));
      case '/jwt': {
        if (outage) {
          return json(503, { error: 'temporarily_unavailable', error_description: 'outage' });
        }
        const ttl = Number(q.get(`ttl_${client}`) || q.get('ttl') || 3600);
        return jwt(res, ttl);
      }
      case '/form': {
        const form = new URLSearchParams(body);
        for (const k of ['client_secret', 'client_assertion']) if (form.has(k)) form.set(k, '*');
        record(`form:${form.toString()}`);
        return good(res, '3600');
      }
      case '/.well-known/openid-configuration': {
        const self = `http://127.0.0.1:${req.socket.localPort}`;
        return json(200, {
          issuer: discovery.issuer ?? self,
          token_endpoint: discovery.endpoint ?? `${self}/ok`,
          jwks_uri: `${self}/jwks`,
          response_types_supported: ['code'],
        });
      }
      case '/expires':
        return good(res, q.get('v') ?? '3600');
      case '/stall':
        return; // never answer; the client must give up
      case '/close-mid':
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
        res.write('{"access_token":"partial-tok');
        setTimeout(() => res.socket.destroy(), 50);
        return;
      case '/endless': {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"access_token":"');
        const chunk = 'a'.repeat(65536);
        const pump = () => {
          if (res.destroyed) return;
          while (res.write(chunk)) { if (res.destroyed) return; }
          res.once('drain', pump);
        };
        res.on('close', () => {});
        pump();
        return;
      }
      case '/huge':
        return json(200, { access_token: 'h'.repeat(3 * 1024 * 1024), token_type: 'Bearer', expires_in: 60 });
      case '/status': {
        const code = Number(q.get('code') || 503);
        const after = q.get('after');
        const headers = {};
        if (after !== null) {
          headers['Retry-After'] = after.startsWith('date:')
            ? new Date(Date.now() + 1000 * Number(after.slice(5))).toUTCString()
            : after;
        }
        const error = code === 429 ? 'slow_down' : code >= 500 ? 'temporarily_unavailable' : 'invalid_request';
        return json(code, { error, error_description: `injected ${code}` }, headers);
      }
      case '/html':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<html><body>Login</body></html>');
      case '/empty':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end('');
      case '/bad-json':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end('{"access_token": "abc", "token_type": ');
      case '/no-token':
        return json(200, { token_type: 'Bearer', expires_in: 60 });
      case '/empty-token':
        return json(200, { access_token: '', token_type: 'Bearer', expires_in: 60 });
      case '/no-type':
        return json(200, { access_token: token(), expires_in: 60 });
      case '/not-object':
        return json(200, [token()]);
      case '/token-bytes': {
        const forged = {
          crlf: 'tok\r\nX-Injected: yes\r\n',
          esc: '\u001b]0;owned\u0007\u001b[2Jtok',
          space: 'tok with space',
          del: 'tok\u007f',
          high: 'tok\u00e9\u00ff',
          nul: 'tok\u0000after',
        }[q.get('kind')];
        if (forged === undefined) return json(400, { error: 'invalid_request' });
        return json(200, { access_token: forged, token_type: 'Bearer', expires_in: 3600 });
      }
      case '/redirect':
        res.writeHead(302, { Location: `http://127.0.0.1:${otherPort}/token` });
        return res.end();
      default:
        return json(404, { error: 'not_found' });
    }
  });
}

const other = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { record(`other:${new URL(req.url, 'http://x').pathname}`); good(res, '3600'); });
});
other.listen(0, '127.0.0.1', () => {
  const otherPort = other.address().port;
  const main = http.createServer((req, res) => handle(req, res, otherPort));
  main.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${main.address().port} ${otherPort}\n`);
  });
  const stop = () => { main.close(); other.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
