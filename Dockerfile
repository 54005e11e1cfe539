# One image for both roles: `quiver serve` (coordinator) and `quiver worker`.
# Build: docker build -t quiver .

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# duckdb-go links DuckDB statically (cgo); its Arrow API needs the duckdb_arrow tag.
RUN CGO_ENABLED=1 go build -tags duckdb_arrow -trimpath -ldflags "-s -w" -o /out/quiver ./cmd/quiver

# The httpfs extension comes from its pinned PyPI wheel, matching DuckDB 1.5.5 exactly.
FROM python:3.11-slim-bookworm AS extensions
RUN pip download --no-deps --dest /wheels duckdb-extension-httpfs==1.5.5 \
 && python -m zipfile -e /wheels/duckdb_extension_httpfs-1.5.5-*.whl /wheels/httpfs \
 && mkdir -p /ext/v1.5.5/linux_amd64 \
 && cp /wheels/httpfs/duckdb_extension_httpfs/extensions/v1.5.5/httpfs.duckdb_extension /ext/v1.5.5/linux_amd64/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/quiver --create-home quiver
COPY --from=build /out/quiver /usr/local/bin/quiver
COPY --from=extensions /ext /opt/quiver/extensions
ENV QUIVER_EXTENSION_DIR=/opt/quiver/extensions
USER quiver
WORKDIR /var/lib/quiver
EXPOSE 8815 8816
ENTRYPOINT ["/usr/local/bin/quiver"]
CMD ["serve", "--listen", "0.0.0.0:8815"]
