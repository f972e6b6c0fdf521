// A TLS front for server.js, for the mutual TLS tests (RFC 8705): it
// terminates TLS with the test's server certificate, requires a client
// certificate that the test CA signed (handshakes without one fail), and
// passes each request on to server.js on the loopback interface, with the
// verified certificate in x-tc-client-cert (URL-encoded PEM) and
// x-tc-client-verified: SUCCESS.  Headers of those names a client sent
// are dropped.  Plain node, no dependencies, loopback only.
//
//   node tls-front.cjs CA_PEM CERT_PEM KEY_PEM UPSTREAM_PORT
//
// stdout: "listening PORT" once ready; stderr: one line per request
// ("front: CN PATH STATUS") and per refused handshake.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const [caFile, certFile, keyFile, upstream] = process.argv.slice(2);
if (!upstream) {
  process.stderr.write('usage: node tls-front.cjs CA CERT KEY UPSTREAM_PORT\n');
  process.exit(2);
}

function pemOf(raw) {
  const b64 = raw.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

const server = https.createServer({
  ca: fs.readFileSync(caFile),
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  requestCert: true,
  rejectUnauthorized: true,
}, (req, res) => {
  const peer = req.socket.getPeerCertificate();
  const headers = { ...req.headers };
  delete headers['x-tc-client-cert'];
  delete headers['x-tc-client-verified'];
  headers['x-tc-client-cert'] = encodeURIComponent(pemOf(peer.raw));
  headers['x-tc-client-verified'] = req.socket.authorized ? 'SUCCESS' : 'FAILED';
  const up = http.request({
    host: '127.0.0.1', port: Number(upstream), method: req.method, path: req.url, headers,
  }, (ur) => {
    process.stderr.write(`front: ${peer.subject?.CN} ${req.url} ${ur.statusCode}\n`);
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(e.message); });
  req.pipe(up);
});
server.on('tlsClientError', (e) => process.stderr.write(`front: handshake refused: ${e.code || e.message}\n`));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
