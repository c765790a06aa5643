// The file-system seam: atomic writes of names up to NAME_MAX, the in-memory file system's
// name limit, two-part writes, and the fault injector's transient errors and torn writes.
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

/// Every file system: a two-part write lands as the parts one after the other, also with an
/// empty part, and after other data.
void two_part_writes(file_system& fs, const std::filesystem::path& dir) {
  ASSERT_TRUE(fs.create_directories(dir));
  auto f = fs.open(dir / "log", open_mode::create);
  ASSERT_TRUE(f) << f.error().message();
  std::string body(200000, 'b');  // beyond one page, so that writes may come back short
  ASSERT_TRUE((*f)->write_at(0, bytes_of("hhh")));
  ASSERT_TRUE((*f)->write_at(3, bytes_of("HEAD"), bytes_of(body)));
  ASSERT_TRUE((*f)->write_at(3 + 4 + body.size(), bytes_of("tail"), {}));
  ASSERT_EQ(*(*f)->size(), 3 + 4 + body.size() + 4);
  std::string back(3 + 4 + body.size() + 4, '\0');
  ASSERT_TRUE((*f)->read_exact(0, std::as_writable_bytes(std::span(back))));
  EXPECT_EQ(back, "hhhHEAD" + body + "tail");
}

TEST(two_part_write, in_memory) {
  memory_file_system fs;
  two_part_writes(fs, "d");
}

TEST(two_part_write, on_disk) {
  auto dir =
      std::filesystem::temp_directory_path() / ("strom-two-part-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto fs = make_posix_file_system();
  two_part_writes(*fs, dir);
  std::filesystem::remove_all(dir);
}

// A write budget that ends inside a two-part write tears it there, whichever part it ends in,
// and counts it as one operation.
TEST(fault_file_system, a_two_part_write_tears_where_the_budget_ends) {
  for (int64_t budget : {0, 2, 4, 7, 9}) {
    auto mem = std::make_shared<memory_file_system>();
    fault_file_system fs(mem);
    auto f = fs.open("log", open_mode::create);
    ASSERT_TRUE(f);
    fs.fail_writes_after(budget);
    auto s = (*f)->write_at(0, bytes_of("HEAD"), bytes_of("body!"));
    if (budget >= 9) {
      EXPECT_TRUE(s) << budget;
    } else {
      ASSERT_FALSE(s) << budget;
      EXPECT_EQ(s.error().code(), errc::injected_fault);
    }
    auto size = (*f)->size();
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, static_cast<uint64_t>(std::min<int64_t>(budget, 9))) << budget;
    std::string back(*size, '\0');
    ASSERT_TRUE((*f)->read_exact(0, std::as_writable_bytes(std::span(back))));
    EXPECT_EQ(back, std::string("HEADbody!").substr(0, back.size())) << budget;
  }
  // One operation: the second of two allowed operations is the write after it.
  auto mem = std::make_shared<memory_file_system>();
  fault_file_system fs(mem);
  auto f = fs.open("log", open_mode::create);
  ASSERT_TRUE(f);
  fs.fail_one_op_after(1);
  EXPECT_TRUE((*f)->write_at(0, bytes_of("HEAD"), bytes_of("body!")));
  EXPECT_FALSE((*f)->write_at(9, bytes_of("more")));
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
