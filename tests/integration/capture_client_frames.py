#!/usr/bin/python3
"""Captures the request frames real clients send (kcat/librdkafka, kafka-python, kafkajs) by
running them through the test proxy against a stromd, and writes one file per distinct API and
version to tests/unit/kafka_protocol/captured/<client>-<api>-v<version>.hex (hex of the frame
without its size prefix). The protocol unit tests decode and re-encode each one byte for byte.

usage: STROMD=build/dev/src/app/stromd tests/integration/capture_client_frames.py"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker, free_port  # noqa: E402
from proxy import Proxy  # noqa: E402

NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 18: "api_versions",
         19: "create_topics", 22: "init_producer_id", 32: "describe_configs", 20: "delete_topics"}
OUT = os.path.join(os.path.dirname(__file__), "..", "unit", "kafka_protocol", "captured")


def save(client, proxy):
    seen = set()
    for key, version, frame in proxy.requests:
        if key not in NAMES or (key, version) in seen:
            continue
        seen.add((key, version))
        path = os.path.join(OUT, f"{client}-{NAMES[key]}-v{version}.hex")
        with open(path, "w") as f:
            f.write(frame[4:].hex() + "\n")
    proxy.requests.clear()


def main():
    os.makedirs(OUT, exist_ok=True)
    port = free_port()
    b = Broker(advertise_port=port).start()
    p = Proxy(b.port, port=port)
    boot = f"127.0.0.1:{port}"
    try:
        subprocess.run(["kcat", "-b", boot, "-P", "-t", "cap", "-K:", "-z", "gzip"],
                       input="k1:v1\nk2:v2\n", text=True, check=True, timeout=30)
        subprocess.run(["kcat", "-b", boot, "-C", "-t", "cap", "-e"], capture_output=True,
                       check=True, timeout=30)
        save("librdkafka", p)

        from kafka import KafkaProducer
        kp = KafkaProducer(bootstrap_servers=boot, api_version_auto_timeout_ms=10000)
        kp.send("cap", key=b"k", value=b"kafka-python").get(timeout=30)
        kp.close()
        save("kafka-python", p)

        js = os.path.join(os.path.dirname(__file__), "js")
        script = f"""
const {{ Kafka, logLevel }} = require('kafkajs');
(async () => {{
  const kafka = new Kafka({{ brokers: ['{boot}'], logLevel: logLevel.NOTHING }});
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({{ topics: [{{ topic: 'cap-js', numPartitions: 2 }}] }});
  await admin.disconnect();
  const producer = kafka.producer(); await producer.connect();
  await producer.send({{ topic: 'cap-js', messages: [{{ key: 'k', value: 'kafkajs' }}] }});
  await producer.disconnect();
}})();
"""
        subprocess.run(["node", "-e", script], cwd=js, check=True, timeout=60)
        save("kafkajs", p)
    finally:
        p.close()
        b.close()
    print("\n".join(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
