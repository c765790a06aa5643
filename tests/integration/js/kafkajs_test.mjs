// kafkajs against a real stromd: admin createTopics / fetchTopicMetadata / fetchTopicOffsets, a
// gzip-compressed produce read back with kcat, and a consumer group reading with eachBatch and
// manual commits. Run with: node --test kafkajs_test.mjs (STROMD names the broker binary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import kafkajs from 'kafkajs';
import { freePort } from './free_port.mjs';

const { Kafka, CompressionTypes, logLevel } = kafkajs;


let dir, broker, port, kafka;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strom-kafkajs-'));
  port = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'broker.yaml');
  writeFileSync(config, `mode: dev
node: { id: 1, data_dirs: ["${join(dir, 'data')}"] }
listeners:
  - name: client
    bind: { host: 127.0.0.1, port: ${port} }
admin:
  bind: { host: 127.0.0.1, port: ${adminPort} }
`);
  broker = spawn(process.env.STROMD, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  broker.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 30000;
  while (!out.includes('stromd started')) {
    if (Date.now() > deadline || broker.exitCode !== null) throw new Error(`stromd did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  kafka = new Kafka({ clientId: 'strom-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.WARN });
});

after(async () => {
  if (broker && broker.exitCode === null) {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('admin creates topics and reads metadata and offsets', async () => {
  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ topics: [{ topic: 'js-topic', numPartitions: 3 }] }), true);
  const md = await admin.fetchTopicMetadata({ topics: ['js-topic'] });
  assert.equal(md.topics[0].name, 'js-topic');
  assert.equal(md.topics[0].partitions.length, 3);
  const topics = await admin.listTopics();
  assert.ok(topics.includes('js-topic'));
  await admin.disconnect();
});

test('gzip produce is stored as sent and read back', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js-gzip', numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `value-${i}` }));
  const res = await producer.send({ topic: 'js-gzip', acks: -1, compression: CompressionTypes.GZIP, messages });
  assert.equal(res[0].errorCode, 0);
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets('js-gzip');
  assert.equal(offsets[0].high, '500');
  assert.equal(offsets[0].low, '0');
  await admin.disconnect();
  const out = execFileSync('kcat', ['-b', `127.0.0.1:${port}`, '-C', '-t', 'js-gzip', '-e', '-f', '%k=%s\n'],
    { encoding: 'utf8', timeout: 30000 });
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 500);
  lines.forEach((l, i) => assert.equal(l, `k${i}=value-${i}`));
});

test('consumer group reads gzip batches with eachBatch and manual commits, then resumes after them', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js-group', numPartitions: 3 }] });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3 }));
  await producer.send({ topic: 'js-group', acks: -1, compression: CompressionTypes.GZIP, messages });

  const seen = new Set();
  const consumer = kafka.consumer({ groupId: 'js-group-1', sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js-group', fromBeginning: true });
  let resolveAll;
  const all = new Promise((r) => { resolveAll = r; });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (const m of batch.messages) {
        seen.add(m.value.toString());
        resolveOffset(m.offset);
      }
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      await heartbeat();
      if (seen.size === 300) resolveAll();
    },
  });
  const timer = setTimeout(() => resolveAll(), 60000);
  await all;
  clearTimeout(timer);
  assert.equal(seen.size, 300);
  await consumer.disconnect();

  const committed = await admin.fetchOffsets({ groupId: 'js-group-1', topics: ['js-group'] });
  const byPartition = Object.fromEntries(committed[0].partitions.map((p) => [p.partition, p.offset]));
  assert.deepEqual(byPartition, { 0: '100', 1: '100', 2: '100' });
  const groups = await admin.describeGroups(['js-group-1']);
  assert.equal(groups.groups[0].state, 'Empty');

  // A new member of the same group starts after the commits: only new messages arrive.
  await producer.send({ topic: 'js-group', acks: -1, messages: [{ value: 'after', partition: 1 }] });
  const again = kafka.consumer({ groupId: 'js-group-1', sessionTimeout: 10000, heartbeatInterval: 500 });
  await again.connect();
  await again.subscribe({ topic: 'js-group', fromBeginning: true });
  const got = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('nothing consumed after the commits')), 60000);
    again.run({
      eachMessage: async ({ partition, message }) => {
        clearTimeout(t);
        resolve({ partition, offset: message.offset, value: message.value.toString() });
      },
    });
  });
  assert.deepEqual(got, { partition: 1, offset: '100', value: 'after' });
  await again.disconnect();
  await producer.disconnect();
  await admin.disconnect();
});
