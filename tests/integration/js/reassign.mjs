// Partition moves through kafkajs's admin client (AlterPartitionReassignments and
// ListPartitionReassignments), for the Python integration tests:
//   node reassign.mjs BOOTSTRAP alter TOPIC PARTITION=R1,R2,... [PARTITION=...]
//   node reassign.mjs BOOTSTRAP list
// prints the outcome as JSON on one line: {"ok": true} / {"error": "..."} for alter, the moves
// in flight for list ({"topics": [{"topic", "partitions": [{"partition", "replicas",
// "addingReplicas", "removingReplicas"}]}]}).
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [bootstrap, what, topic, ...assignments] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'strom-reassign', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
  retry: { retries: 3 } });
const admin = kafka.admin();
let out;
try {
  await admin.connect();
  if (what === 'alter') {
    const partitionAssignment = assignments.map((a) => {
      const [p, rs] = a.split('=');
      return { partition: Number(p), replicas: rs.split(',').map(Number) };
    });
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment }], timeout: 30000 });
    out = { ok: true };
  } else {
    out = await admin.listPartitionReassignments({ timeout: 30000 });
  }
} catch (e) {
  out = { error: `${e.name}: ${e.message}`, type: e.type ?? null };
} finally {
  await admin.disconnect();
}
console.log(JSON.stringify(out));
