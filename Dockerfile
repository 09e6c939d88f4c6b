# syntax=docker/dockerfile:1

# Chapterhouse: one static binary (pure-Go SQLite, no cgo) in a distroless
# image, run as an unprivileged user with its data in the /data volume.
#
#   docker build -t chapterhouse .
#   docker run -p 8080:8080 -v chapterhouse-data:/data \
#     -e CHAPTERHOUSE_PUBLIC_URL=https://chapter.example.org chapterhouse
#
# A four-node demo tree: docker compose up --build (see docker-compose.yml).

# ---- build ----------------------------------------------------------------
# Built on the machine's own platform and cross-compiled for the target one,
# which Go does without emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=0.1.0-dev
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/chapterhouse ./cmd/chapterhouse
# The data directory, owned by the runtime user: a new named volume mounted
# on /data starts as a copy of it (owner included).
RUN mkdir -p /out/data

# ---- run ------------------------------------------------------------------
# distroless/static: CA certificates, tzdata, /etc/passwd with nonroot
# (65532); no shell, no package manager, no curl.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.1.0-dev
LABEL org.opencontainers.image.title="Chapterhouse" \
      org.opencontainers.image.description="A federated ActivityPub server for organizations made of local chapters" \
      org.opencontainers.image.source="https://github.com/chapterhouse/chapterhouse" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/chapterhouse /usr/local/bin/chapterhouse
# A single-node configuration (listen 0.0.0.0:8080, data in /data); mount
# your own over it, or override keys with CHAPTERHOUSE_* variables.
COPY deploy/chapterhouse.yaml /etc/chapterhouse/chapterhouse.yaml
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
# The binary checks itself: GET /api/v1/instance on the listen address.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/chapterhouse", "health", "--config", "/etc/chapterhouse/chapterhouse.yaml"]
ENTRYPOINT ["/usr/local/bin/chapterhouse"]
CMD ["serve", "--config", "/etc/chapterhouse/chapterhouse.yaml"]
