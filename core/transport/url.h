// Base URLs of providers, as the transport uses them: the parser lives in core/config
// (core/config/url.h) so that the config loader and the live driver accept the same URLs.
#pragma once

#include "core/config/url.h"

namespace failover::transport {

using config::is_loopback;
using config::parse_url;
using config::Url;

}  // namespace failover::transport
