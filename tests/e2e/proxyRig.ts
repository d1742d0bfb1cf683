// Debian's haproxy on loopback for the proxied-access specs: TCP mode, routing one TLS SNI name
// to a backend with TLS passed through (other names refused); ready when its port accepts.
import { expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export interface Haproxy { port: number; routed: () => number; stop: () => void }

/** haproxy on loopback routing `name` to `backend` (host:port) by SNI; other names refused. */
export async function startHaproxy(backend: string, name: string): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'vmdeck-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  const log = join(dir, 'haproxy.log');
  writeFileSync(config, [
    'global', '  maxconn 256', '  log stdout format raw local0',
    'defaults', '  mode tcp', '  log global', '  option tcplog', '  option logasap',
    '  timeout connect 5s', '  timeout client 10m', '  timeout server 10m', '  timeout tunnel 10m',
    'frontend sni_router', `  bind 127.0.0.1:${port}`, '  tcp-request inspect-delay 5s',
    '  tcp-request content accept if { req.ssl_hello_type 1 }',
    `  use_backend route_0 if { req.ssl_sni -i ${name} }`, '  default_backend unknown_cluster',
    'backend unknown_cluster', '  tcp-request content reject',
    'backend route_0', `  server s0 ${backend}`, '',
  ].join('\n'));
  const out = openSync(log, 'w');
  const child: ChildProcess = spawn('/usr/sbin/haproxy', ['-db', '-f', config], { stdio: ['ignore', out, 'inherit'] });
  await expect.poll(() => accepts(port), { message: 'haproxy listening' }).toBe(true);
  return {
    port,
    routed: () => readFileSync(log, 'utf8').split('\n').filter((line) => line.includes(' route_0/s0 ')).length,
    stop: () => child.kill(),
  };
}

