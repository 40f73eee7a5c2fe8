// Loads a Config from TOML (schema: docs/config.md). It decides how TOML spells each
// field -- durations as "250ms", ratios as "94%", prices as USD per million tokens --
// and rejects unknown keys, wrong types and unparsable values with file:line:col;
// whether the values make a usable Config is left to validate(), run last.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/engine/config.h"
#include "core/engine/result.h"

namespace failover {

struct LoadOptions {
  // Top-level keys another loader reads (the scenario loader: "scenario", "traffic",
  // "faults", "expect", ...): skipped here instead of being reported as unknown.
  std::vector<std::string> extra_top_level_keys;
  // When true, each [[providers]] table may hold a `sim` sub-table (the fake
  // provider's latency and fault model), which is skipped here.
  bool allow_sim_tables = false;
};

// Reads and parses the file at `path`. Errors name "path:line:col" in Error::where
// (just "path" for an unreadable file or a whole-table problem) and the key path and
// problem in Error::what. Never throws; never returns a partially defaulted Config.
Result<Config> load_config_file(const std::string& path, const LoadOptions& options = {});

// As load_config_file, for text already in memory; `source_name` stands in for the
// file name in errors.
Result<Config> load_config_string(std::string_view text, std::string_view source_name, const LoadOptions& options = {});

// Parses TOML text into a table, for a loader that reads keys of its own (the scenario
// loader) before handing the table to config_from_table(). Use it rather than calling
// toml::parse directly: it first rejects the inputs on which toml++ 3.3 has undefined
// behaviour (a non-ASCII character outside a string or comment, which TOML forbids
// anyway, or right after a backslash in a multi-line string). Never throws.
Result<toml::table> parse_toml(std::string_view text, std::string_view source_name);

// Config and scenario files are at most kFileBytesMax bytes: toml++ needs tens of bytes
// of memory per byte of dense input, and this bound keeps one parse under ~64 MB.
inline constexpr std::size_t kFileBytesMax = std::size_t{1} << 20U;

// As parse_toml, reading the file at `path` (at most kFileBytesMax; a directory, a
// missing file or a larger file is an Error naming the path).
Result<toml::table> parse_toml_file(const std::string& path);

// Builds a Config from a table the caller already parsed (keeping toml++'s source
// regions), then validates it. Never throws.
Result<Config> config_from_table(const toml::table& root, std::string_view source_name, const LoadOptions& options);

}  // namespace failover
