// control/flow_log_writer: flows.collect results into the two files, with rotation.
#include "tests/unit/control/flow_log_test_util.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "control/rotating_file.hpp"
#include "tests/unit/control/test_util.hpp"

namespace vpcnet::flow_log_test {
namespace {

using control::flow_log_header;
using control::FlowLogWriter;
using control::RotatingFile;
using testing::TempDir;

TEST(RotatingFile, HeaderPerFileAndRotationPastTheLimit) {
  TempDir dir;
  const std::string path = dir / "log.txt";
  RotatingFile f(path, "HEADER", 20);
  ASSERT_TRUE(f.append({"aaaa", "bbbb"}).ok());  // 7 + 5 + 5 bytes: under the limit
  EXPECT_EQ(read_lines(path), (std::vector<std::string>{"HEADER", "aaaa", "bbbb"}));
  EXPECT_FALSE(std::filesystem::exists(path + ".1"));
  // The line that takes the file past 20 bytes is the old file's last.
  ASSERT_TRUE(f.append({"cccc", "dddd"}).ok());
  EXPECT_EQ(read_lines(path + ".1"), (std::vector<std::string>{"HEADER", "aaaa", "bbbb", "cccc"}));
  EXPECT_EQ(read_lines(path), (std::vector<std::string>{"HEADER", "dddd"}));
  // Another rotation replaces NAME.1.
  ASSERT_TRUE(f.append({"eeee", "ffff", "gggg"}).ok());
  EXPECT_EQ(read_lines(path + ".1"), (std::vector<std::string>{"HEADER", "dddd", "eeee", "ffff"}));
  EXPECT_EQ(read_lines(path), (std::vector<std::string>{"HEADER", "gggg"}));
  EXPECT_FALSE(std::filesystem::exists(path + ".2"));
}

TEST(RotatingFile, NoLimitNoHeaderAndErrors) {
  TempDir dir;
  const std::string path = dir / "log.jsonl";
  RotatingFile f(path, std::nullopt, 0);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(f.append({std::string(100, 'x')}).ok());
  EXPECT_EQ(read_lines(path).size(), 100u);
  EXPECT_FALSE(std::filesystem::exists(path + ".1"));
  // A file that cannot be opened is an io_error naming it, not an exception.
  RotatingFile missing(dir / "no/such/dir/log", std::nullopt, 0);
  auto st = missing.append({"x"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::io_error);
  EXPECT_NE(st.error().message.find("no/such/dir/log"), std::string::npos) << st.error().message;
}

TEST(FlowLogWriter, SkipsAndCountsMalformed) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir / "logs";
  FlowLogWriter w(o);
  const auto bad = malformed_records();
  json records = json::array();
  records.push_back(tcp_record());
  for (const auto& [what, rec] : bad) records.push_back(rec);
  records.push_back(tcp_record());
  Result<size_t> r = size_t{0};
  ASSERT_NO_THROW(r = w.write({{"records", records}, {"lost", 0}}, names()));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, 8u);
  EXPECT_EQ(w.malformed(), bad.size());
  EXPECT_EQ(w.records(), 2u);
  EXPECT_EQ(w.entries(), 8u);
  EXPECT_EQ(read_lines(w.text_path()).size(), 1u + 8u);
  EXPECT_EQ(read_lines(w.json_path()).size(), 8u);

  // A result that is not {"records": [...]} is an error, nothing counted.
  for (const json& j : {json(nullptr), json::array(), json("x"), json{{"records", "x"}}, json{{"lost", 1}},
                        json{{"records", json::object()}}}) {
    Result<size_t> e = size_t{0};
    ASSERT_NO_THROW(e = w.write(j, names())) << j.dump();
    EXPECT_FALSE(e.ok()) << j.dump();
  }
  EXPECT_EQ(w.malformed(), bad.size());
  // A bad "lost" is ignored, a good one is kept.
  EXPECT_TRUE(w.write({{"records", json::array()}, {"lost", "many"}}, names()).ok());
  EXPECT_EQ(w.lost(), 0u);
  EXPECT_TRUE(w.write({{"records", json::array()}, {"lost", 12}}, names()).ok());
  EXPECT_EQ(w.lost(), 12u);
}

// Files that cannot be written (a full disk; here a directory where the text
// file should be) lose the batch: counted as a write error and as dropped
// entries, never as written; the next batch that can be written is.
TEST(FlowLogWriter, CountsTheEntriesOfAFailedWrite) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir / "logs";
  FlowLogWriter w(o);
  std::filesystem::create_directories(w.text_path());  // in the way of the file
  auto r = w.write({{"records", {tcp_record()}}, {"lost", 0}}, names());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io_error);
  EXPECT_NE(r.error().message.find("4 entries not written"), std::string::npos) << r.error().message;
  EXPECT_EQ(w.write_errors(), 1u);
  EXPECT_EQ(w.entries_dropped(), 4u);
  EXPECT_EQ(w.entries(), 0u);
  EXPECT_EQ(w.records(), 1u);
  // A batch without entries writes nothing, so it cannot fail.
  EXPECT_TRUE(w.write({{"records", json::array()}, {"lost", 0}}, names()).ok());
  EXPECT_EQ(w.write_errors(), 1u);

  std::filesystem::remove(w.text_path());
  ASSERT_EQ(*w.write({{"records", {tcp_record()}}, {"lost", 3}}, names()), 4u);
  EXPECT_EQ(w.entries(), 4u);
  EXPECT_EQ(w.entries_dropped(), 4u);
  EXPECT_EQ(w.stats(), (json{{"records", 2}, {"entries", 4}, {"malformed", 0}, {"lost", 3},
                              {"write_errors", 1}, {"entries_dropped", 4}}));
}

TEST(FlowLogWriter, FilesHeaderModeAndAppend) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir / "a/b";  // created
  o.account_id = "42";
  FlowLogWriter w(o);
  EXPECT_EQ(w.text_path(), dir / "a/b/flow-log.txt");
  EXPECT_EQ(w.json_path(), dir / "a/b/flow-log.jsonl");

  // Nothing to log: no files.
  auto none = w.write({{"records", json::array()}, {"lost", 0}}, names());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_FALSE(std::filesystem::exists(w.text_path()));

  ASSERT_TRUE(w.write({{"records", {tcp_record()}}, {"lost", 0}}, names()).ok());
  json rej = tcp_record();
  rej["action"] = "REJECT";
  rej["rejected_at"] = "initiator";
  ASSERT_EQ(*w.write({{"records", {rej}}, {"lost", 0}}, names()), 1u);

  // A second writer on the same files (controld restarted) appends, no header.
  FlowLogWriter w2(o);
  ASSERT_EQ(*w2.write({{"records", {tcp_record()}}}, names()), 4u);

  const auto text = read_lines(w.text_path());
  ASSERT_EQ(text.size(), 1u + 4u + 1u + 4u);
  EXPECT_EQ(text[0], flow_log_header());
  for (size_t i = 1; i < text.size(); ++i) {
    EXPECT_EQ(split(text[i]).size(), 30u);
    EXPECT_EQ(text[i].rfind("5 42 ", 0), 0u) << text[i];
    EXPECT_NE(text[i], flow_log_header());
  }
  EXPECT_NE(text[5].find(" REJECT "), std::string::npos);

  const auto lines = read_lines(w.json_path());
  ASSERT_EQ(lines.size(), 9u);
  for (const auto& l : lines) {
    json j = json::parse(l);
    EXPECT_EQ(j.size(), 30u);
    EXPECT_EQ(j["account-id"], "42");
  }
  EXPECT_EQ(json::parse(lines[4])["action"], "REJECT");
  EXPECT_EQ(json::parse(lines[0]), to_json((*flow_log_entries(tcp_record(), names(), o))[0]));

  struct stat st {};
  ASSERT_EQ(::stat(w.text_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat(w.json_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(FlowLogWriter, Rotation) {
  TempDir dir;
  FlowLogOptions o;
  o.dir = dir.path().string();
  o.max_file_bytes = 2000;
  FlowLogWriter w(o);
  const std::string txt = w.text_path();
  const std::string old = txt + ".1";

  ASSERT_TRUE(w.write({{"records", {tcp_record()}}}, names()).ok());  // header + 4 lines, < 2000 bytes
  EXPECT_FALSE(std::filesystem::exists(old));
  const auto size_after_one = std::filesystem::file_size(txt);
  EXPECT_LT(size_after_one, 2000u);

  // Many more: the text file passes 2000 bytes and rotates, maybe several times.
  json batch = json::array();
  for (int i = 0; i < 10; ++i) batch.push_back(tcp_record());
  ASSERT_EQ(*w.write({{"records", batch}}, names()), 40u);
  ASSERT_TRUE(std::filesystem::exists(old));
  ASSERT_TRUE(std::filesystem::exists(w.json_path() + ".1"));
  EXPECT_FALSE(std::filesystem::exists(txt + ".2"));  // one old file kept

  // Every text file starts with the header, holds it once, and stays within
  // the limit plus one line.
  size_t total = 0;
  for (const auto& path : {old, txt}) {
    const auto lines = read_lines(path);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], flow_log_header()) << path;
    EXPECT_EQ(std::count(lines.begin(), lines.end(), flow_log_header()), 1) << path;
    EXPECT_LE(std::filesystem::file_size(path), 2000u + 200u) << path;
    total += lines.size() - 1;
  }
  EXPECT_GT(std::filesystem::file_size(old), 2000u);  // rotated once it passed the limit
  EXPECT_LE(total, 44u);
  // The last entry written is the last line of the current file.
  EXPECT_NE(read_lines(txt).back().find(" db1 "), std::string::npos);
  // JSON lines have no header: a file rotated right after its last line leaves
  // an empty current file.
  auto js = read_lines(w.json_path());
  if (js.empty()) js = read_lines(w.json_path() + ".1");
  ASSERT_FALSE(js.empty());
  EXPECT_EQ(json::parse(js.back())["interface-id"], "db1");
  EXPECT_LE(std::filesystem::file_size(w.json_path() + ".1"), 2000u + 600u);
}

}  // namespace
}  // namespace vpcnet::flow_log_test
