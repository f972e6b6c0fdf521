// rawhttp.cjs - a raw HTTP client for the local token endpoint's tests
// (endpoint.sh): what curl will not do on demand.  Plain node, no
// dependencies; TARGET is a TCP port on 127.0.0.1, or the path of a Unix
// socket (it starts with /).
//
//   node rawhttp.cjs TARGET TIMEOUT_MS STEP...
//       Connect, run the steps, then wait up to TIMEOUT_MS for the server
//       to close.  The bytes received go to stdout; the last line on
//       stderr is "closed MS" or "open MS": when the server closed (end or
//       reset), or that it had not, in ms since the last mark (or since
//       the connection was made).  Steps:
//         w:TEXT     write TEXT (\r \n \t \\ and \xNN understood)
//         d:MS:TEXT  dribble TEXT, one byte every MS ms (until closed)
//         s:MS       sleep
//         m          mark: times are counted from here
//         c          close our end now (and report at once)
//
//   node rawhttp.cjs conns TARGET N REQUEST
//       Open N connections one after another (150 ms apart), wait a
//       second, print "conn I: closed" or "conn I: open" for each, then
//       send REQUEST (escapes as for w:) on every open one and print
//       "conn I: STATUS_LINE" for each reply.
'use strict';
const net = require('node:net');

function unescape(s) {
  return Buffer.from(s.replace(/\\(r|n|t|\\|x([0-9a-fA-F]{2}))/g, (m, c, hex) => {
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    return { r: '\r', n: '\n', t: '\t', '\\': '\\' }[c];
  }), 'latin1');
}

function connect(target) {
  return target.startsWith('/') ? net.connect({ path: target })
    : net.connect({ host: '127.0.0.1', port: Number(target) });
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

async function raw(target, timeoutMs, steps) {
  const sock = connect(target);
  let closed = false;
  let closedAt = 0;
  let mark = 0;
  const onClose = () => { if (!closed) { closed = true; closedAt = Date.now(); } };
  sock.on('data', (d) => process.stdout.write(d));
  sock.on('end', onClose);
  sock.on('close', onClose);
  sock.on('error', onClose);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  mark = Date.now();
  for (const step of steps) {
    if (closed) break;
    const [op, ...rest] = step.split(':');
    const arg = rest.join(':');
    if (op === 'w') sock.write(unescape(arg));
    else if (op === 's') await sleep(Number(arg));
    else if (op === 'm') mark = Date.now();
    else if (op === 'c') { sock.destroy(); process.stderr.write('ourclose 0\n'); return; }
    else if (op === 'd') {
      const i = arg.indexOf(':');
      const ms = Number(arg.slice(0, i));
      const bytes = unescape(arg.slice(i + 1));
      for (let k = 0; k < bytes.length && !closed; k++) {
        sock.write(bytes.subarray(k, k + 1));
        await sleep(ms);
      }
    } else throw new Error(`unknown step ${step}`);
  }
  const until = Date.now() + timeoutMs;
  while (!closed && Date.now() < until) await sleep(20);
  if (closed) process.stderr.write(`closed ${closedAt - mark}\n`);
  else process.stderr.write(`open ${Date.now() - mark}\n`);
  sock.destroy();
}

async function conns(target, n, request) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = connect(target);
    s.gone = false;
    s.buf = '';
    s.on('data', (d) => { s.buf += d.toString('latin1'); });
    const done = () => { s.gone = true; };
    s.on('end', done);
    s.on('close', done);
    s.on('error', done);
    socks.push(s);
    await sleep(150);
  }
  await sleep(1000);
  socks.forEach((s, i) => console.log(`conn ${i + 1}: ${s.gone ? 'closed' : 'open'}`));
  const req = unescape(request);
  for (const s of socks) if (!s.gone) s.write(req);
  const until = Date.now() + 5000;
  while (Date.now() < until
         && socks.some((s) => !s.gone && !s.buf.includes('\r\n\r\n'))) await sleep(20);
  socks.forEach((s, i) => {
    if (s.buf) console.log(`conn ${i + 1}: ${s.buf.split('\r\n')[0]}`);
    s.destroy();
  });
}

const [a1, a2, a3, ...more] = process.argv.slice(2);
(a1 === 'conns' ? conns(a2, Number(a3), more[0]) : raw(a1, Number(a2), [a3, ...more].filter((x) => x !== undefined)))
  .catch((e) => { process.stderr.write(`rawhttp: ${e.message}\n`); process.exit(2); });
