# Sandbox stand-in for the official apache/airflow image (no registry here):
# Airflow from PyPI in a venv on Debian 13, laid out like the official image
# (user airflow UID 50000 GID 0, AIRFLOW_HOME=/opt/airflow, airflow on PATH,
# pip usable by the airflow user for images built on top). Its entrypoint is
# the official image's init, dumb-init, without the official /entrypoint
# script (our compose files must not need it): so a container's PID 1 is not
# Airflow itself. A process that is PID 1 of its container ignores a SIGTERM
# it has no handler for, so `docker stop` of a Celery worker still starting
# (no handler yet) waited the whole stop grace period; under dumb-init the
# signal ends it, as in production.
ARG BASE
FROM ${BASE}
ARG AIRFLOW_VERSION=3.3.2
ARG AIRFLOW_EXTRAS=celery,postgres,redis,http,fab
ENV DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv libpq5 ca-certificates procps curl dumb-init \
 && update-ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 50000 --gid 0 --create-home --home-dir /home/airflow airflow \
 && mkdir -p /opt/airflow /opt/venv && chown 50000:0 /opt/airflow /opt/venv
ENV AIRFLOW_HOME=/opt/airflow PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
COPY airflow-base-constraints.txt /tmp/constraints.txt
USER 50000:0
RUN python3 -m venv /opt/venv \
 && pip install -q "apache-airflow[${AIRFLOW_EXTRAS}]==${AIRFLOW_VERSION}" -c /tmp/constraints.txt \
 && airflow version
WORKDIR /opt/airflow
EXPOSE 8080 8793
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
CMD ["airflow", "version"]
