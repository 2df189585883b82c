# Builds the `sogs` server binary and runs it in a small image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p sogs-server --bin sogs

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data sogs \
    && mkdir -p /data && chown sogs /data
COPY --from=build /src/target/release/sogs /usr/local/bin/sogs
USER sogs
ENV SOGS_DATA_DIR=/data SOGS_LISTEN=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["sogs"]
CMD ["serve"]
