"""Reads one partition from its beginning with a Python Kafka client, printing "offset value"
for each message, until it has COUNT messages or TIMEOUT_S seconds passed (exit 1), or the
client raised (exit 2: the exception on standard error).

    tail_client.py {kafka-python|confluent} BOOTSTRAP TOPIC PARTITION COUNT TIMEOUT_S"""

import sys
import time


def tail_kafka_python(bootstrap, topic, partition, count, deadline):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", metadata_max_age_ms=1000,
                             request_timeout_ms=30000, api_version_auto_timeout_ms=30000)
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = 0
    while got < count and time.time() < deadline:
        for msgs in consumer.poll(timeout_ms=200).values():
            for m in msgs:
                print(m.offset, m.value.decode(), flush=False)
                got += 1
    consumer.close()
    return got


def tail_confluent(bootstrap, topic, partition, count, deadline):
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition, OFFSET_BEGINNING
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "confluent-tail",
                         "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 1000})
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    got = 0
    while got < count and time.time() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(m.error())
        print(m.offset(), m.value().decode(), flush=False)
        got += 1
    consumer.close()
    return got


def main():
    client, bootstrap, topic, partition, count, timeout = sys.argv[1:]
    tail = {"kafka-python": tail_kafka_python, "confluent": tail_confluent}[client]
    got = tail(bootstrap, topic, int(partition), int(count), time.time() + float(timeout))
    sys.stdout.flush()
    print(f"{client}: {got} message(s)", file=sys.stderr)
    return 0 if got >= int(count) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        import traceback
        traceback.print_exc()
        sys.exit(2)
