# syntax=docker/dockerfile:1
# The Discoblocks image, for building where a registry is reachable:
#   docker build --build-arg REVISION=$(git rev-parse HEAD) -t discoblocks:0.1.0 .
# It has the file layout of scripts/image.sh's image (scripts/image-layout.sh
# decides it for both) and the same configuration (user, entrypoint, variables,
# labels; tests/image/image_config_test.sh compares them). scripts/image.sh builds
# the same image here without a daemon, reproducibly.

# Compilers, libraries, Go and Wasmtime, pinned as scripts/setup.sh pins them.
FROM debian:bookworm AS toolchain
WORKDIR /src
COPY scripts/setup.sh scripts/versions.sh scripts/
RUN scripts/setup.sh && rm -rf /var/lib/apt/lists/*

# The binary and the bundled drivers (Go and C, compiled to WebAssembly): one
# CMake build makes both, without the tests and benchmarks.
FROM toolchain AS build
COPY . .
ARG REVISION=unknown
RUN scripts/build.sh /build -DDISCOBLOCKS_BUILD_TESTS=OFF -DDISCOBLOCKS_BUILD_BENCHMARKS=OFF \
      -DDISCOBLOCKS_COMMIT=$REVISION

# The root file system, laid out by the script scripts/image.sh uses.
FROM build AS layout
ARG SOURCE_DATE_EPOCH=0
RUN SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH scripts/image-layout.sh /rootfs /build/bin/discoblocks /build/drivers

FROM scratch
COPY --from=layout /rootfs/ /
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="discoblocks" \
      org.opencontainers.image.description="Discoblocks: declarative disks for Kubernetes, with drivers in WebAssembly" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.source="https://github.com/ondat/discoblocks" \
      org.opencontainers.image.licenses="$LICENSES"
ENV DISCOBLOCKS_DRIVERS_DIR=/drivers \
    DISCOBLOCKS_MODULE_CACHE=/var/cache/discoblocks/modules
USER 65532:65532
WORKDIR /
VOLUME /var/cache/discoblocks
ENTRYPOINT ["/usr/local/bin/discoblocks"]
CMD ["serve"]
