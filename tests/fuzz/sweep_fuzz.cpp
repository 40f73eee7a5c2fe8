// libFuzzer entry for what a sweep reads from outside: shard files that come back from
// other machines (read_shard) and `--set` arguments (parse_set). Any byte string either
// reads into a shard that writes back to text reading into the very same shard -- so
// merge sees exactly what was written -- or yields an Error naming the file; and any
// --set argument either parses into an axis of bounded, non-empty values or is an
// Error, its values canonical. Never a crash, a leak, an escaped exception or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/engine/assert.h"
#include "sim/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sweep = failover::sim::sweep;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const failover::Result<sweep::Shard> shard = sweep::read_shard(text, "fuzz.toml");
  if (!shard.has_value()) {
    FAILOVER_ASSERT(!shard.error().what.empty());
    FAILOVER_ASSERT(shard.error().where.starts_with("fuzz.toml"));
  } else {
    FAILOVER_ASSERT(shard->index < shard->count);
    const std::string written = sweep::write_shard(*shard);
    const failover::Result<sweep::Shard> again = sweep::read_shard(written, "again.toml");
    FAILOVER_ASSERT(again.has_value());
    FAILOVER_ASSERT(sweep::write_shard(*again) == written);
  }

  // The first line as a --set argument.
  const std::string_view line = text.substr(0, text.find('\n'));
  const failover::Result<sweep::Axis> axis = sweep::parse_set(line);
  if (axis.has_value()) {
    FAILOVER_ASSERT(!axis->key.empty());
    FAILOVER_ASSERT(!axis->values.empty());
    FAILOVER_ASSERT(axis->values.size() <= sweep::kValuesPerKeyMax);
    // Values are canonical: each reads back as itself.
    for (const std::string& v : axis->values) {
      const failover::Result<std::string> canonical = sweep::value_text(v);
      FAILOVER_ASSERT(canonical.has_value() && *canonical == v);
    }
  }
  return 0;
}
