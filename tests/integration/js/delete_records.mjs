// Deletes the records of one partition before OFFSET with kafkajs's admin client
// (DeleteRecords), then prints the partition's earliest offset (ListOffsets) as kafkajs sees
// it. Exits 2 on an error.
//
//   node delete_records.mjs BOOTSTRAP TOPIC PARTITION OFFSET
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [bootstrap, topic, partition, offset] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'kafkajs-delete-records', brokers: bootstrap.split(','), logLevel: logLevel.WARN,
});
const admin = kafka.admin();
try {
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [topic] });  // where the partition's leader is
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: Number(partition), offset }] });
  const offsets = await admin.fetchTopicOffsets(topic);
  const p = offsets.find((o) => o.partition === Number(partition));
  process.stdout.write(`${p.low}\n`);
  await admin.disconnect();
} catch (e) {
  process.stderr.write(`kafkajs: ${e}\n`);
  process.exit(2);
}
