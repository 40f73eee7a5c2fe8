#!/usr/bin/env bash
# Installs the Debian 12 packages failover builds and tests with. Idempotent: a
# package already installed is not installed again, and nothing runs apt when
# everything is present. Needs root only when something is missing.
set -euo pipefail

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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
