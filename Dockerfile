# syntax=docker/dockerfile:1
#
# Tidings container image: a static binary on distroless, running as non-root.
#
#   docker build -t tidings \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#   docker run -d --name tidings --stop-timeout 30 -p 127.0.0.1:8080:8080 \
#     -v tidings-data:/data -e TIDINGS_ADMIN_TOKEN=change-me tidings
#
# (`make docker` runs that build. --stop-timeout: a clean stop waits up to
# `serve --grace`, 10s, for polls in flight; Docker's default is also 10s.)
#
# The default config is deploy/docker/tidings.yaml; mount your own on
# /etc/tidings/tidings.yaml (or a folder on /etc/tidings) to change it.

# GO_VERSION is the Go release the binary is built with (go.mod needs 1.26).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum
# change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
# CGO off gives a static binary that runs on distroless/static; -trimpath
# keeps the build machine's paths out of it. The build cache mount only
# speeds up rebuilds, it is not part of the image.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/tidings ./cmd/tidings

# The data folder must exist in the image, owned by the runtime user: a named
# volume mounted on /data is initialised from it, so the store stays writable.
RUN mkdir -p /out/data


FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="tidings" \
      org.opencontainers.image.description="Feed aggregator daemon: polls feeds, republishes topic feeds" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"

COPY --from=build /out/tidings /usr/local/bin/tidings
COPY deploy/docker/tidings.yaml /etc/tidings/tidings.yaml
COPY --from=build --chown=65532:65532 /out/data /data

# distroless :nonroot already runs as "nonroot" (65532); the numeric form lets
# Kubernetes' runAsNonRoot check it without reading /etc/passwd.
USER 65532:65532
ENV TIDINGS_CONFIG=/etc/tidings/tidings.yaml
VOLUME /data
EXPOSE 8080

# distroless has no shell or curl: the binary probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/tidings", "health", "--config", "/etc/tidings/tidings.yaml"]

ENTRYPOINT ["/usr/local/bin/tidings"]
CMD ["serve", "--config", "/etc/tidings/tidings.yaml"]
