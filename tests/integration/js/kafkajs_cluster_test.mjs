// kafkajs against three real stromd processes from config/cluster (free ports, temporary data
// directories): a 6-partition topic created through one broker, produced to through another
// and read back exactly once by a consumer group bootstrapped from the third, whose coordinator
// may be any of them. Run with: node --test kafkajs_cluster_test.mjs (STROMD names the broker
// binary, STROM_SOURCE_DIR the repository).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import kafkajs from 'kafkajs';
import { freePort } from './free_port.mjs';

const { Kafka, logLevel } = kafkajs;


let dir;
const nodes = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strom-kafkajs-cluster-'));
  const ports = {};
  for (const n of [1, 2, 3]) ports[n] = { kafka: await freePort(), internal: await freePort(), admin: await freePort() };
  for (const n of [1, 2, 3]) {
    let text = readFileSync(join(process.env.STROM_SOURCE_DIR, 'config', 'cluster', `node-${n}.yaml`), 'utf8');
    for (const m of [1, 2, 3]) {
      text = text.replaceAll(`${m}9092`, `${ports[m].kafka}`)
        .replaceAll(`${m}9093`, `${ports[m].internal}`)
        .replaceAll(`${m}9644`, `${ports[m].admin}`);
    }
    const work = join(dir, `node-${n}`);
    mkdirSync(work);
    text = text.replace(`./data/node-${n}`, join(work, 'data'));
    const config = join(work, 'broker.yaml');
    writeFileSync(config, text);
    const proc = spawn(process.env.STROMD, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const node = { proc, out: '', port: ports[n].kafka };
    proc.stderr.on('data', (d) => { node.out += d; });
    nodes[n] = node;
  }
  for (const node of Object.values(nodes)) {
    const deadline = Date.now() + 30000;
    while (!node.out.includes('stromd started')) {
      if (Date.now() > deadline || node.proc.exitCode !== null) throw new Error(`stromd did not start:\n${node.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});

after(async () => {
  for (const node of Object.values(nodes)) {
    if (node.proc.exitCode === null) {
      node.proc.kill('SIGTERM');
      await new Promise((r) => node.proc.once('exit', r));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function client(n) {
  return new Kafka({ clientId: `strom-cluster-${n}`, brokers: [`127.0.0.1:${nodes[n].port}`], logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
}

test('a topic spread over three brokers is written through one and read through another', async () => {
  // The cluster is ready once a broker lists all three.
  const admin = client(1).admin();
  await admin.connect();
  const deadline = Date.now() + 30000;
  for (;;) {
    const c = await admin.describeCluster();
    if (c.brokers.length === 3 && c.controller !== null && c.controller >= 1) break;
    if (Date.now() > deadline) throw new Error(`cluster not ready: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(await admin.createTopics({ topics: [{ topic: 'js-spread', numPartitions: 6, replicationFactor: 1 }] }), true);
  const md = await admin.fetchTopicMetadata({ topics: ['js-spread'] });
  const leaders = new Set(md.topics[0].partitions.map((p) => p.leader));
  assert.deepEqual([...leaders].sort(), [1, 2, 3]);
  await admin.disconnect();

  const producer = client(2).producer();
  await producer.connect();
  const sent = Array.from({ length: 90 }, (_, i) => `js-${i}`);
  await producer.send({ topic: 'js-spread', acks: -1, messages: sent.map((v) => ({ key: v, value: v })) });
  await producer.disconnect();

  const consumer = client(3).consumer({ groupId: 'js-cluster-group', sessionTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js-spread', fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${sent.length}`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  assert.equal(got.length, sent.length);
  assert.deepEqual([...new Set(got)].sort(), [...sent].sort());
});
