# ostel with the pinned llama.cpp, for fleets (docs/fleet.md): a Kubernetes Indexed Job runs one
# shard of a study per pod and writes every run into one PostgreSQL database.
#
#   docker build -t ostel:latest .
#   docker run --rm ostel:latest ostel --help
#
# One stage on purpose: scripts/setup.sh is the single recipe for a machine (packages, the pinned
# llama.cpp built once, ostel itself), and the image is that machine.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        bash ca-certificates git build-essential cmake pkg-config nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/ostel
COPY . .
# packages (libsqlite3-dev, libpq-dev, …), chart assets, the pinned llama.cpp, ostel into ./build
RUN bash scripts/setup.sh \
    && rm -rf /root/.npm /var/lib/apt/lists/*

ENV OSTEL_LLAMA_BIN=/root/.cache/ostel/llama.cpp-nlc-3.21.1/bin \
    PATH=/opt/ostel/build:/root/.cache/ostel/llama.cpp-nlc-3.21.1/bin:$PATH
WORKDIR /work
ENTRYPOINT []
CMD ["ostel", "--help"]
