# syntax=docker/dockerfile:1
#
# quota-exporter container image.
#
#   docker build -t quota-exporter \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm -p 10042:10042 quota-exporter --demo
#
# Build: the release binary, made exactly as scripts/release makes it (`scripts/release
# --binary`: cargo-zigbuild against glibc 2.28 with the glibc-2-28 feature, the GLIBC_
# ceiling checked; ziglang and cargo-zigbuild from PyPI at the versions pinned there), so
# the image holds the same binary as the release tarball and the .deb. Runtime: distroless
# "cc" (glibc, libgcc, CA certificates, tzdata, a nonroot user, no shell, no package manager).
# Why glibc and not a static musl binary on distroless/static: the release binary is a
# glibc one (it runs on glibc 2.28 or later; cc-debian12 has 2.36), zig already serves as
# the C toolchain for ring, and musl's allocator is markedly slower under the many small
# allocations of TLS and JSON decoding. The cost is roughly 20 MB more image than
# distroless/static, with no difference in attack surface: neither has a shell or a
# package manager.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src

# Embedded in quota_exporter_build_info{version,revision}. Empty means "not given":
# the binary then falls back to the Cargo package version and "unknown".
ARG VERSION=""
ARG REVISION=""

# scripts/release installs its PyPI tools into a venv: Debian's python3-venv (the tools
# themselves are pinned in scripts/release; the Debian package follows the builder image).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*

# Dependency caching: the cargo registry, git checkouts and the target directory live
# in BuildKit cache mounts, so a rebuild after a source change recompiles only this
# crate. This works for any Cargo.toml layout (benches, tests, examples) without
# maintaining a stub-source layer (the venv of scripts/release's tools is cached too).
# Cache mounts are not part of the image, hence the copy of the binary to /out.
# scripts/release runs `cargo zigbuild --locked` (Cargo.lock is honoured).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    --mount=type=cache,target=/root/.cache/quota-exporter,sharing=locked \
    set -eu; \
    if [ -n "${VERSION}" ]; then export QUOTA_EXPORTER_VERSION="${VERSION}"; fi; \
    if [ -n "${REVISION}" ]; then export QUOTA_EXPORTER_REVISION="${REVISION}"; fi; \
    scripts/release --binary /out/quota-exporter

FROM ${RUNTIME_IMAGE}
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="quota-exporter" \
      org.opencontainers.image.description="Prometheus exporter for SaaS quotas: storage capacity, seats and licences, expiry dates" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=build /out/quota-exporter /usr/local/bin/quota-exporter

# Mount points, both read-only at run time:
#   /etc/quota-exporter/config.yml   the configuration (--config.file)
#   /run/secrets/<name>              secrets the config references as { file: /run/secrets/<name> }
# Secrets given as environment variables are referenced as { env: NAME }.
# distroless ":nonroot" runs as uid/gid 65532; stated again so that runtimes and
# admission policies that look for a numeric user see one.
USER 65532:65532
EXPOSE 10042

# No HEALTHCHECK, on purpose. Docker runs a HEALTHCHECK inside the container, and this
# image has no HTTP client (no shell, curl or wget) and the binary has no self-probe
# mode; `quota-exporter --version` would report "healthy" while the server is wedged,
# which is worse than no check. The HTTP checks are done from outside the container:
# Kubernetes probes /-/healthy (liveness) and /-/ready (readiness), and in the compose
# stack Prometheus scrapes the exporter, so `up{job="quota-exporter"}` and the
# exporter-down alert are the health signal. See docs/deployment.md.

ENTRYPOINT ["/usr/local/bin/quota-exporter"]
CMD ["--config.file=/etc/quota-exporter/config.yml"]
