// kafkajs against three real stromd processes from config/cluster (free ports, temporary data
// directories): a 6-partition topic created through one broker, produced to through another
// and read back exactly once by a consumer group bootstrapped from the third, whose coordinator
// may be any of them; then a group of a replicated topic keeps consuming, and its committed
// progress, while each broker in turn (its coordinator among them) is killed (-9) and
// restarted. Run with: node --test kafkajs_cluster_test.mjs (STROMD names the broker binary,
// STROM_SOURCE_DIR the repository).
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
    nodes[n] = { config, port: ports[n].kafka };
    start(n);
  }
  for (const n of [1, 2, 3]) await started(n);
});

function start(n) {
  const node = nodes[n];
  node.out = '';
  node.proc = spawn(process.env.STROMD, ['--config', node.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  node.proc.stderr.on('data', (d) => { node.out += d; });
}

async function started(n) {
  const node = nodes[n];
  const deadline = Date.now() + 30000;
  while (!node.out.includes('stromd started')) {
    if (Date.now() > deadline || node.proc.exitCode !== null) throw new Error(`stromd did not start:\n${node.out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until(what, pred, ms = 60000) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

test('a group keeps consuming, and its committed progress, through kills of every broker', async () => {
  const everyone = () => new Kafka({ clientId: 'strom-cluster-kill', brokers: [1, 2, 3].map((n) => `127.0.0.1:${nodes[n].port}`),
    logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = everyone().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js-kills', numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true });
  const producer = everyone().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const total = 3000;
  for (let i = 0; i < total; i += 100) {
    await producer.send({ topic: 'js-kills', acks: -1,
      messages: Array.from({ length: 100 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}` })) });
  }
  await producer.disconnect();

  // Commits every 100 ms; each message takes a moment, so that the kills fall mid-way.
  const seen = new Set();
  let crashes = 0;
  const consumer = everyone().consumer({ groupId: 'js-kills-group', sessionTimeout: 10000, heartbeatInterval: 1000 });
  consumer.on(consumer.events.CRASH, () => { crashes += 1; });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js-kills', fromBeginning: true });
  await consumer.run({ autoCommitInterval: 100, eachMessage: async ({ message }) => {
    seen.add(message.value.toString());
    await new Promise((r) => setTimeout(r, 2));
  } });
  for (const n of [1, 2, 3]) {
    const before = seen.size;
    await until('reads before a kill', () => seen.size >= Math.min(total, before + 300));
    nodes[n].proc.kill('SIGKILL');
    await new Promise((r) => nodes[n].proc.once('exit', r));
    start(n);
    await started(n);
  }
  await until('every message read', () => seen.size === total, 120000);
  // Every message read is committed (the last commits land within an interval or two).
  // The end offsets from the leaders as they are now: kafkajs's admin gives up at once on a
  // leader that moved since it last read Metadata (leaders go back to their preferred replicas
  // after the restarts), so each try reads Metadata afresh.
  let ends;
  await until('the end offsets', async () => {
    const fresh = everyone().admin();
    await fresh.connect();
    try {
      ends = await fresh.fetchTopicOffsets('js-kills');
      return true;
    } catch (e) {
      if (e.type !== 'NOT_LEADER_FOR_PARTITION' && e.type !== 'LEADER_NOT_AVAILABLE') throw e;
      return false;
    } finally {
      await fresh.disconnect();
    }
  });
  const committedAll = async () => {
    const [t] = await admin.fetchOffsets({ groupId: 'js-kills-group', topics: ['js-kills'] });
    const at = Object.fromEntries(t.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((e) => at[e.partition] === e.high);
  };
  await until('every read committed', committedAll);
  await consumer.disconnect();
  assert.equal(crashes, 0);
  assert.equal(seen.size, total);
  // The group's progress held: once more, it reads nothing.
  const again = everyone().consumer({ groupId: 'js-kills-group', sessionTimeout: 10000 });
  await again.connect();
  await again.subscribe({ topic: 'js-kills', fromBeginning: true });
  let reread = 0;
  let joined = false;
  again.on(again.events.GROUP_JOIN, () => { joined = true; });
  await again.run({ eachMessage: async () => { reread += 1; } });
  await until('the group joined again', () => joined);
  await new Promise((r) => setTimeout(r, 2000));  // what a rewind would deliver arrives meanwhile
  await again.disconnect();
  assert.equal(reread, 0);
  assert.ok(await committedAll());
  await admin.disconnect();
});
