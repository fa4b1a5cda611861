#include "policies/policy_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace vpcnet {
namespace fs = std::filesystem;

namespace {

Result<PolicyFile> read_one(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error(ErrorCode::io_error, fmt::format("{}: cannot read file", p.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return PolicyFile{p.string(), text.str()};
}

}  // namespace

Result<std::vector<PolicyFile>> read_policy_files(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return make_error(ErrorCode::io_error, fmt::format("{}: no such file or directory", path));
  std::vector<fs::path> paths;
  if (fs::is_directory(st)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) paths.push_back(entry.path());
    }
    if (ec) return make_error(ErrorCode::io_error, fmt::format("{}: {}", path, ec.message()));
    if (paths.empty()) return make_error(ErrorCode::io_error, fmt::format("{}: no *.yaml or *.yml files", path));
    std::sort(paths.begin(), paths.end());
  } else {
    paths.emplace_back(path);
  }
  std::vector<PolicyFile> files;
  for (const auto& p : paths) {
    auto f = read_one(p);
    if (!f) return f.error();
    files.push_back(std::move(*f));
  }
  return files;
}

Result<CompiledConfig> compile_policy_files(const std::vector<PolicyFile>& files, uint64_t generation) {
  DesiredState state;
  for (const auto& f : files) {
    auto docs = parse_documents(f.text, f.file);
    if (!docs) return docs.error();
    for (auto& d : *docs) {
      if (const Document* prev = state.find(d.kind, d.name)) {
        Error e = make_error(ErrorCode::invalid_policy,
                             fmt::format("{} {} is defined twice (also at {}:{})", d.kind, d.name, prev->file, prev->line));
        e.file = d.file;
        e.line = d.line;
        e.field = "name";
        return e;
      }
      state.put(std::move(d));
    }
  }
  auto model = build_model(state);
  if (!model) return model.error();
  return compile(*model, generation);
}

}  // namespace vpcnet
