// Reading inputs and writing outputs for the failover program (cli/files.h).
#include "cli/files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace failover::cli {

std::optional<std::string> read_text(const std::string& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: %s: cannot open the file\n", path.c_str());
    return std::nullopt;
  }
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max) {
      std::fprintf(stderr, "error: %s: larger than %zu bytes\n", path.c_str(), max);
      return std::nullopt;
    }
  }
  return text;
}

bool write_files(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  namespace fs = std::filesystem;
  for (const auto& [name, content] : files) {
    const fs::path path = fs::path(dir) / name;
    const fs::path folder = fs::path(name).has_parent_path() ? path.parent_path() : fs::path(dir);
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
      std::fprintf(stderr, "error: %s: cannot create the folder: %s\n", folder.string().c_str(), ec.message().c_str());
      return false;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "error: %s: cannot write the file\n", path.string().c_str());
      return false;
    }
  }
  return true;
}

}  // namespace failover::cli
