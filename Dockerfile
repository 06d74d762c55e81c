# syntax=docker/dockerfile:1.7
# The controller image: a static (musl) binary and the CA bundle on an empty base, running as
# a non-root numeric user. Build:
#   docker build -t sagemaker-rollout:0.1.0 .
# Base images are pinned to exact versions; pin digests too in your registry mirror
# (docker buildx imagetools inspect rust:1.95.0-alpine3.22).

FROM rust:1.95.0-alpine3.22 AS build
RUN apk add --no-cache musl-dev gcc g++ make cmake perl ca-certificates
WORKDIR /src

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin sagemaker-rollout \
    && rm -rf src target/release/sagemaker-rollout* target/release/deps/sagemaker_rollout* \
              target/release/.fingerprint/sagemaker-rollout-*

COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked --bin sagemaker-rollout \
    && strip target/release/sagemaker-rollout

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/target/release/sagemaker-rollout /sagemaker-rollout
USER 65532:65532
# mimalloc (the binary's allocator) commits arena memory as it is used and hands freed pages
# back at once instead of when the same thread next allocates: an idle controller's RSS stays
# what its watch cache holds (docs/benchmarks.md). examples/controller_bench.rs reads these.
ENV MIMALLOC_ARENA_EAGER_COMMIT=0
ENV MIMALLOC_PURGE_DELAY=0
EXPOSE 8080
ENTRYPOINT ["/sagemaker-rollout"]
CMD ["controller"]
