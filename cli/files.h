// Files for the failover program: reading an input with a bound on its size, and
// writing a command's outputs into a folder. Shared by `sweep`, `merge` and `explore`;
// what goes into the files is the libraries'.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace failover::cli {

// The whole text of `path`, at most `max` bytes. Says why on stderr and returns empty
// when the file cannot be opened or is larger.
std::optional<std::string> read_text(const std::string& path, std::size_t max);

// Writes each (relative path, content) under `dir`, creating the folders they need.
// Says which folder or file failed on stderr and returns false at the first failure.
bool write_files(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace failover::cli
