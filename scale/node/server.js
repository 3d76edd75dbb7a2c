// The Node.js server of the scale benchmark: the plain `http` module, a Set of responses, one
// res.write per client per event (what a Node SSE tutorial writes), no npm packages.
// Usage: node server.js [BACKLOG]; prints `listening ADDR`; stdin takes the same commands as
// the Rust servers (scale/src/lib.rs): `rate R`, `burst N`, `pad B`, `count`; exits when stdin
// ends.
'use strict';
const http = require('http');
const readline = require('readline');
const { performance } = require('perf_hooks');

const backlog = Number(process.argv[2] || 4096);
const clients = new Set();
let id = 0;
let published = 0;
let pad = '';
let timer = null;

const micros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

const server = http.createServer((req, res) => {
  if (!req.url.startsWith('/events')) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  clients.add(res);
  req.on('close', () => clients.delete(res));
});
server.requestTimeout = 0;

function publish() {
  id += 1;
  published += 1;
  const data = pad ? `{"t":${micros()},"p":"${pad}"}` : `{"t":${micros()}}`;
  const frame = `id: ${id}\ndata: ${data}\n\n`;
  for (const res of clients) res.write(frame);
}

function pace(rate) {
  if (timer) clearTimeout(timer);
  timer = null;
  if (!(rate > 0)) return;
  const period = 1000 / rate;
  let next = performance.now();
  const tick = () => {
    publish();
    next += period;
    timer = setTimeout(tick, Math.max(0, next - performance.now()));
  };
  timer = setTimeout(tick, 0);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [word, value] = line.trim().split(' ');
  if (word === 'rate') pace(Number(value));
  else if (word === 'burst') for (let i = 0; i < Number(value); i++) publish();
  else if (word === 'pad') pad = 'x'.repeat(Number(value));
  else if (word === 'count') console.log(`published ${published}`);
}).on('close', () => process.exit(0));

server.listen({ host: '127.0.0.1', port: 0, backlog }, () => {
  console.log(`listening 127.0.0.1:${server.address().port}`);
});
