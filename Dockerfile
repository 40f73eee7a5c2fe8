# syntax=docker/dockerfile:1
# A small image with the `failover` program, for CI jobs and for people without a C++
# toolchain. Two stages on the same Debian 12 base, so that the shared libraries the
# program was linked against are the ones it runs with:
#   build    -- exactly scripts/install-deps.sh --runtime, then examples/ci/replay.sh build:
#               the release preset (tests and benchmarks off), the commands the CI
#               examples run and tests/cli/ci_example_test.sh checks;
#   runtime  -- the program and the shared libraries it needs that the base lacks.
#
#   docker build -t failover .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" failover run scenarios/ --junit out/junit.xml --report-dir out/reports
ARG BASE=debian:12-slim

FROM ${BASE} AS build
WORKDIR /src
# The dependencies first, as their own layer: a source change does not reinstall them.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/*
COPY . .
RUN examples/ci/replay.sh build build/release
# The program and each shared library it loads that is not part of glibc, libstdc++ or
# libgcc (which the runtime base, the same Debian 12, has), under its name as loaded, in
# its real folder (/lib is a link to /usr/lib on Debian 12: the link stays a link).
RUN mkdir -p /rootfs/usr/local/bin \
    && cp build/release/failover /rootfs/usr/local/bin/failover \
    && strip /rootfs/usr/local/bin/failover \
    && ldd build/release/failover | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
       | grep -Ev '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so' \
       | while read -r lib; do \
           dir=/rootfs$(readlink -f "$(dirname "$lib")") \
           && mkdir -p "$dir" && cp -L "$lib" "$dir/"; \
         done \
    && test -n "$(find /rootfs -name 'libboost_json*')"

FROM ${BASE} AS runtime
COPY --from=build /rootfs/ /
# The program loads: fails the build here, not at the first run, when a library is missing.
RUN ["/usr/local/bin/failover", "--help"]
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/failover"]
CMD ["--help"]
