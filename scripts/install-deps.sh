#!/usr/bin/env bash
# Installs the Debian 12 packages failover builds and tests with, then the npm packages
# of the SDK conformance suite (tests/sdk: `npm ci` from its package-lock.json, which
# needs Node 20 or newer and npm on the PATH). Idempotent: a package already installed
# is not installed again, nothing runs apt when everything is present, and npm ci runs
# only when tests/sdk/node_modules does not match the lockfile. Needs root only when a
# Debian package is missing.
#
#   scripts/install-deps.sh             everything above (what CI runs: .ci/run)
#   scripts/install-deps.sh --runtime   only what building `failover` (the release preset
#                                       with FAILOVER_DEVELOPER_MODE=OFF) and running it
#                                       need: no test, fuzz, format or benchmark tools, no
#                                       Node; on Debian 12 or Ubuntu 24.04 (/etc/os-release)
#   scripts/install-deps.sh --runtime --list   print those package names, install nothing
set -euo pipefail

runtime=false
list=false
for arg in "$@"; do
  case $arg in
    --runtime) runtime=true ;;
    --list) list=true ;;
    *)
      echo "install-deps: unknown argument $arg (usage: install-deps.sh [--runtime [--list]])" >&2
      exit 2
      ;;
  esac
done
if $list && ! $runtime; then
  echo "install-deps: --list goes with --runtime" >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sdk=$here/../tests/sdk

# The SDK suite's packages, pinned by tests/sdk/package-lock.json.
install_sdk() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: node and npm not found: install Node 20 or newer for the SDK suite (tests/sdk)" >&2
    exit 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "install-deps: node $(node --version) is too old for the SDK suite (tests/sdk): Node 20 or newer" >&2
    exit 1
  fi
  # npm ci writes node_modules/.package-lock.json; equal to the lockfile's packages: done.
  if [ -f "$sdk/node_modules/.package-lock.json" ] &&
    node -e '
      const fs = require("fs");
      const [lock, installed] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")).packages);
      const versions = (p) => JSON.stringify(Object.keys(p).filter((k) => k).sort().map((k) => [k, p[k].version]));
      process.exit(versions(lock) === versions(installed) ? 0 : 1);
    ' "$sdk/package-lock.json" "$sdk/node_modules/.package-lock.json"; then
    echo "install-deps: tests/sdk packages present"
    return
  fi
  (cd "$sdk" && npm ci --no-audit --no-fund)
  echo "install-deps: installed tests/sdk packages (npm ci)"
}

# The packages of --runtime for this system: building failover (CMake presets need CMake
# 3.25; C++20 needs g++ 12 or newer) and its libraries. Boost is 1.81 on Debian 12 and
# 1.83 on Ubuntu 24.04 (CMakeLists.txt asks for 1.81 or newer); toml++ and CLI11 are in
# Ubuntu's universe component.
# FAILOVER_OS_RELEASE names another os-release file (tests/cli/ci_example_test.sh).
runtime_packages() {
  local os_release=${FAILOVER_OS_RELEASE:-/etc/os-release} id="" version=""
  if [ -r "$os_release" ]; then
    # shellcheck source=/dev/null
    id=$(. "$os_release" && echo "${ID:-}")
    # shellcheck source=/dev/null
    version=$(. "$os_release" && echo "${VERSION_ID:-}")
  fi
  local boost
  case "$id $version" in
    "debian 12") boost=1.81 ;;
    "ubuntu 24.04") boost=1.83 ;;
    *)
      echo "install-deps: --runtime knows Debian 12 and Ubuntu 24.04, not \"${id:-unknown} ${version:-}\" ($os_release);" \
        "install by hand: CMake >= 3.25, Ninja, g++ >= 12, Boost >= 1.81 (headers and Boost.JSON), toml++ 3," \
        "OpenSSL 3 headers, CLI11" >&2
      exit 1
      ;;
  esac
  packages=(cmake ninja-build g++ "libboost$boost-dev" "libboost-json$boost-dev" libtomlplusplus-dev libssl-dev
    libcli11-dev)
}

if $runtime; then
  runtime_packages
  if $list; then
    printf '%s\n' "${packages[@]}"
    exit 0
  fi
else
  packages=(
    cmake ninja-build g++ clang             # build: CMake + Ninja; clang for libFuzzer targets
    libclang-rt-14-dev                      # libFuzzer and sanitizer runtimes for clang
    clang-format                            # the format check (scripts/check-format.sh, a test)
    libboost1.81-dev libboost-json1.81-dev  # Asio, Beast, JSON, Random
    libtomlplusplus-dev                     # TOML scenarios and config
    libssl-dev                              # TLS for the live transport
    libgtest-dev libgmock-dev               # tests
    libbenchmark-dev                        # bench/
    libcli11-dev                            # the failover command line
    openssl                                 # the transport tests make a CA at test time
    wrk                                     # bench/: the HTTP load baseline next to `failover live`
    prometheus                              # promtool: checks the gateway's GET /metrics page (tests/serve)
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  $runtime || install_sdk  # --runtime: no Node, the SDK suite is a test
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-deps: these packages are missing and this is not root (and there is no sudo)." >&2
    echo "install-deps: as root, run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
$runtime || install_sdk
