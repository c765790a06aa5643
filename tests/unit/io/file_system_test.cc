// The file-system seam: atomic writes of names up to NAME_MAX, the in-memory file system's
// name limit, and the fault injector's transient errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "strom/io/fault_file_system.h"
#include "strom/io/file_system.h"
#include "strom/io/memory_file_system.h"

namespace strom::io {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s));
}

TEST(temp_path, short_names_get_a_tmp_suffix) {
  EXPECT_EQ(temp_path_for("dir/recovery-point"), std::filesystem::path("dir/recovery-point.tmp"));
  std::string fits(max_name_bytes - 4, 'a');
  EXPECT_EQ(temp_path_for("d/" + fits), std::filesystem::path("d/" + fits + ".tmp"));
}

TEST(temp_path, long_names_stay_within_name_max_and_distinct) {
  std::string a(max_name_bytes, 'a');
  std::string b = a;
  b.back() = 'b';
  auto ta = temp_path_for("d/" + a);
  auto tb = temp_path_for("d/" + b);
  EXPECT_EQ(ta.parent_path(), std::filesystem::path("d"));
  EXPECT_EQ(ta.filename().string().size(), max_name_bytes);
  EXPECT_TRUE(ta.filename().string().ends_with(".tmp"));
  EXPECT_NE(ta, tb);  // the hash covers the whole name, not only the kept prefix
  EXPECT_EQ(ta, temp_path_for("d/" + a));  // and is stable
}

TEST(memory_file_system, names_longer_than_name_max_fail) {
  memory_file_system fs;
  ASSERT_TRUE(fs.create_directories("d"));
  std::string longest(max_name_bytes, 'x');
  std::string too_long(max_name_bytes + 1, 'x');
  EXPECT_TRUE(fs.open("d/" + longest, open_mode::create));
  auto f = fs.open("d/" + too_long, open_mode::create);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), std::errc::filename_too_long);
  EXPECT_FALSE(fs.create_directories("d/" + too_long + "/x"));
  EXPECT_FALSE(fs.rename("d/" + longest, "d/" + too_long));
  EXPECT_TRUE(*fs.exists("d/" + longest));
}

/// Every file system: a 255-byte name written atomically, leaving no temp file.
void atomic_write_of_longest_name(file_system& fs, const std::filesystem::path& dir) {
  ASSERT_TRUE(fs.create_directories(dir));
  std::string name(max_name_bytes - 6, 't');
  name += ".topic";
  ASSERT_EQ(name.size(), max_name_bytes);
  auto s = fs.write_file_atomic(dir / name, bytes_of("partitions=1\n"));
  ASSERT_TRUE(s) << s.error().message();
  auto back = fs.read_small_file(dir / name, 100);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, "partitions=1\n");
  auto names = fs.list(dir);
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{name});
  // A second write replaces the first.
  ASSERT_TRUE(fs.write_file_atomic(dir / name, bytes_of("partitions=2\n")));
  EXPECT_EQ(*fs.read_small_file(dir / name, 100), "partitions=2\n");
}

TEST(write_file_atomic, longest_name_in_memory) {
  memory_file_system fs;
  atomic_write_of_longest_name(fs, "topics");
}

TEST(write_file_atomic, longest_name_on_disk) {
  auto dir =
      std::filesystem::temp_directory_path() / ("strom-io-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto fs = make_posix_file_system();
  atomic_write_of_longest_name(*fs, dir);
  std::filesystem::remove_all(dir);
}

TEST(fault_file_system, one_transient_error) {
  auto mem = std::make_shared<memory_file_system>();
  fault_file_system fs(mem);
  fs.fail_one_op_after(1);
  EXPECT_TRUE(fs.create_directories("a"));
  auto s = fs.create_directories("b");  // the second mutating call fails and changes nothing
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), errc::injected_fault);
  EXPECT_FALSE(*mem->exists("b"));
  EXPECT_TRUE(fs.create_directories("c"));  // later calls succeed again
  EXPECT_TRUE(fs.sync_directory("c"));
  EXPECT_TRUE(*mem->exists("c"));
}

}  // namespace
}  // namespace strom::io
