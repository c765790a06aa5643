// kafkajs over SASL_PLAINTEXT (or SASL_SSL with STROM_TLS_CA=<CA file>), for the Python integration tests:
//   node sasl.mjs BOOTSTRAP MECHANISM USER PASSWORD TOPIC COUNT
// MECHANISM is kafkajs's name (plain, scram-sha-256, scram-sha-512). Produces COUNT messages
// (acks=all) to partition 0 of TOPIC, reads them back with a consumer group, and prints one line
// of JSON: {"produced": n, "consumed": [values...]} or {"error": "...", "type": "..."}.
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [bootstrap, mechanism, username, password, topic, countText] = process.argv.slice(2);
const count = Number(countText);
const kafka = new Kafka({
  clientId: 'strom-sasl', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
  sasl: { mechanism, username, password }, retry: { retries: 2 }, connectionTimeout: 5000,
  authenticationTimeout: 5000,
  // SASL_SSL when the environment names the CA that signed the broker's certificate.
  ssl: process.env.STROM_TLS_CA ? { ca: [readFileSync(process.env.STROM_TLS_CA, 'utf8')] } : false,
});
let out;
const producer = kafka.producer();
const consumer = kafka.consumer({ groupId: `sasl-${mechanism}-${Date.now()}` });
try {
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) messages.push({ value: `${mechanism}-${i}` });
  await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, partition: 0 })) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${consumed.length} of ${count}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push(message.value.toString());
        if (consumed.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  out = { produced: count, consumed };
} catch (e) {
  out = { error: `${e.name}: ${e.message}`, type: e.type ?? null };
} finally {
  await producer.disconnect().catch(() => {});
  await consumer.disconnect().catch(() => {});
}
console.log(JSON.stringify(out));
