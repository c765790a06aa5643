// Free loopback ports for the kafkajs tests.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const givenPorts = new Set();

// A free loopback port below the kernel's ephemeral range (ip_local_port_range), never the same
// twice: a port the kernel hands out for bind(0) may become some client connection's local
// port before the broker binds it.
export async function freePort() {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {}
  const top = low - 1;
  const bottom = Math.max(10000, top - 12000);
  for (let i = 0; i < 1000; i++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom + 1));
    if (givenPorts.has(port)) continue;
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) {
      givenPorts.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}
