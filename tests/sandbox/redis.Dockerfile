# Sandbox stand-in for the broker image (the official valkey/valkey image),
# from Debian 13's Valkey packages. Same interface: `valkey-server ARGS...` as
# the command, port 6379, valkey-cli. (The sandbox kind keeps the name
# "redis": the broker speaks the Redis protocol.)
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends valkey-server \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown valkey:valkey /data
WORKDIR /data
USER valkey
EXPOSE 6379
CMD ["valkey-server", "--protected-mode", "no"]
