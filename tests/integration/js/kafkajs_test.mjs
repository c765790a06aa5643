// kafkajs against a real stromd: admin createTopics / fetchTopicMetadata / fetchTopicOffsets and
// a gzip-compressed produce, read back with kcat. Run with: node --test kafkajs_test.mjs
// (STROMD names the broker binary). Consumers need consumer groups and come with them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import kafkajs from 'kafkajs';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

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
