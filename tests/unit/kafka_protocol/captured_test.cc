// Request frames captured from real clients (librdkafka 2.0.2 through kcat, kafka-python
// 2.0.2, kafkajs 2.2.4) by tests/integration/capture_client_frames.py: each decodes, and
// re-encodes to exactly the bytes the client sent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "strom/kafka/protocol/codec.h"

namespace strom::kafka::protocol {
namespace {

std::vector<std::byte> from_hex(const std::string& s) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(CapturedFrames, DecodeAndReencodeByteForByte) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(STROM_CAPTURED_DIR)) {
    if (entry.path().extension() != ".hex")
      continue;
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(entry.path());
    std::string text;
    std::getline(in, text);
    auto payload = from_hex(text);
    auto req = decode_request(payload);
    ASSERT_TRUE(req) << req.error().message();
    EXPECT_TRUE(is_version_served(req->header.key, req->header.version) ||
                req->header.key == api_key::produce);
    writer w;
    encode_request_header(w, req->header);
    encode_body(w, req->header.version, req->body);
    auto again = w.memory();
    ASSERT_EQ(again.size(), payload.size());
    EXPECT_TRUE(std::equal(again.begin(), again.end(), payload.begin()));
    ++count;
  }
  EXPECT_GE(count, 10u);
}

}  // namespace
}  // namespace strom::kafka::protocol
