// Reads one topic from its beginning with a kafkajs consumer (a group of its own), printing
// "offset value" for each message of partition PARTITION, until it has COUNT of them or
// TIMEOUT_S seconds passed (exit 1), or kafkajs reported an error (exit 2).
//
//   node tail.mjs BOOTSTRAP TOPIC PARTITION COUNT TIMEOUT_S
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [bootstrap, topic, partition, count, timeout] = process.argv.slice(2);
const want = Number(count);
// kafkajs logs on standard error: standard output holds the messages only.
const logCreator = () => ({ namespace, level, log }) => {
  process.stderr.write(`${JSON.stringify({ level, namespace, ...log })}\n`);
};
const kafka = new Kafka({
  clientId: 'kafkajs-tail', brokers: bootstrap.split(','), logLevel: logLevel.INFO, logCreator,
});
const consumer = kafka.consumer({ groupId: `kafkajs-tail-${process.pid}`, metadataMaxAge: 1000 });
let got = 0;
const offsets = new Set();
let failed = null;
const lines = [];

consumer.on(consumer.events.CRASH, (e) => { failed = e.payload.error; });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
// kafkajs joins its group again when a fetch finds the leadership moved, and then resumes
// from the group's committed offset: each message is committed once processed.
await consumer.run({
  autoCommit: true,
  autoCommitThreshold: 1,
  eachMessage: async ({ partition: p, message }) => {
    if (p !== Number(partition) || got >= want) return;
    lines.push(`${message.offset} ${message.value.toString()}`);
    // A record delivered again after a rejoin is printed again but counted once.
    if (!offsets.has(message.offset)) {
      offsets.add(message.offset);
      got += 1;
    }
  },
});
const deadline = Date.now() + Number(timeout) * 1000;
while (got < want && failed === null && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
await consumer.disconnect().catch(() => {});
process.stderr.write(`kafkajs: ${got} message(s)${failed ? `, error: ${failed}` : ''}\n`);
process.exit(failed ? 2 : got < want ? 1 : 0);
