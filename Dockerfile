# Container images of the mdlc binaries. One build stage compiles every binary; each target below holds one
# binary on the smallest base that runs it:
#
#   docker build --target localaws -t mdlc-localaws:local .   # SageMaker/Lambda/S3 endpoint + Debian's XGBoost
#   docker build --target worker   -t mdlc-worker:local .     # the Temporal worker
#   docker build --target starter  -t mdlc-starter:local .    # the CLI
#
# Without --target, docker build produces the worker (the last stage).
#
# docker-compose.yml builds them (docs/docker.md). The cache mount needs BuildKit, the default builder since
# Docker 23. Base images are pinned by tag; to pin by digest as well, override the ARG, e.g.
#   --build-arg DEBIAN_IMAGE=debian:bookworm-slim@sha256:<digest>
# Everything is installed at build time: the containers need no network at run time beyond the services they
# call. internal/deploycheck tests this file's invariants.

# GO_IMAGE's version is go.mod's go line (internal/deploycheck checks it).
ARG GO_IMAGE=golang:1.26.8-bookworm
# bookworm's xgboost package (1.7.4) ships the command-line program localaws trains with; XGBoost deprecated that
# program in 2.1 and removed it in 3.2. Move to a later Debian only after checking that its package still has it.
ARG DEBIAN_IMAGE=debian:bookworm-slim
# The xgboost package (the program localaws trains with, and libxgboost, which it predicts with) and
# libxgboost-dev (to build localaws against) are pinned to the same bookworm version.
ARG XGBOOST_VERSION=1.7.4-1
# Static binaries need no libc: distroless static (CA certificates, tzdata, a nonroot user) is enough.
ARG STATIC_IMAGE=gcr.io/distroless/static-debian12:nonroot

# ---- build: every binary, for the target platform, into /out/<name> ------------------------------------------
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
# GOTOOLCHAIN=local: build with the image's Go, never download another toolchain.
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG TARGETOS
ARG TARGETARCH
# httpprobe is the health check of the images that have no shell or HTTP client.
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ \
      ./worker ./starter ./internal/deploycheck/httpprobe
# localaws is the one binary built with cgo: it predicts through libxgboost's C API, so it links the target's
# libxgboost (and runs on the localaws stage's Debian, which has it). For a target other than the builder,
# Debian's cross compiler and the target architecture's libxgboost-dev (multiarch) are installed; Docker's
# amd64 and arm64 are Debian's architecture names too.
ARG XGBOOST_VERSION
RUN --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    case "$TARGETARCH" in amd64) triplet=x86_64-linux-gnu ;; arm64) triplet=aarch64-linux-gnu ;; \
      *) echo "localaws: no cross compiler configured for $TARGETARCH" >&2; exit 1 ;; esac; \
    pkgs="libxgboost-dev:$TARGETARCH=${XGBOOST_VERSION}"; \
    if [ "$(dpkg --print-architecture)" != "$TARGETARCH" ]; then \
      dpkg --add-architecture "$TARGETARCH"; pkgs="$pkgs gcc-$(echo "$triplet" | tr _ -) libc6-dev:$TARGETARCH"; \
    fi; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs; \
    rm -rf /var/lib/apt/lists/*; \
    GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=1 CC="$triplet-gcc" \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ ./localaws/cmd/localaws

# ---- localaws: the local SageMaker, Lambda and S3 endpoint --------------------------------------------------
FROM ${DEBIAN_IMAGE} AS localaws
# The xgboost package (the command-line program and libxgboost) is what the built-in XGBoost images are run
# with; pinned to the bookworm version that still has the program, the one localaws was built against.
ARG XGBOOST_VERSION
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates "xgboost=${XGBOOST_VERSION}" \
 && rm -rf /var/lib/apt/lists/* \
 && xgboost -V \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin localaws \
 && install -d -o localaws -g localaws -m 0750 /data
COPY --from=build /out/localaws /out/httpprobe /usr/local/bin/
# The image listens on all interfaces, which localaws refuses without --allow-remote (it has no
# authentication): publish its port on 127.0.0.1 only. State lives in /data, a volume owned by localaws.
ENV LOCALAWS_ADDR=0.0.0.0:4570 LOCALAWS_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 4570
USER localaws:localaws
WORKDIR /data
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/httpprobe", "http://127.0.0.1:4570/_localaws/health"]
ENTRYPOINT ["/usr/local/bin/localaws"]
CMD ["--allow-remote"]

# ---- starter: the CLI (a command, not a service: no health check) ------------------------------------------
FROM ${STATIC_IMAGE} AS starter
COPY --from=build /out/starter /usr/local/bin/
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/starter"]

# ---- worker: the Temporal worker ----------------------------------------------------------------------------
FROM ${STATIC_IMAGE} AS worker
COPY --from=build /out/worker /out/httpprobe /usr/local/bin/
# Metrics on all interfaces so that the health check and a Prometheus container can reach them; set
# MDLC_METRICS_ADDR= (empty) to disable them, and the health check with them.
ENV MDLC_METRICS_ADDR=0.0.0.0:9464
EXPOSE 9464
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/httpprobe", "http://127.0.0.1:9464/metrics"]
ENTRYPOINT ["/usr/local/bin/worker"]
