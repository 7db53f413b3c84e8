# Sandbox host: Debian 13 with systemd as PID 1 and python3, standing in for an
# on-prem host. Built by sandbox.sh from a debootstrap root file system.
# The apt lists stay in the image, as on a real host.
# Two targets (two image kinds):
#   host        a bare host: the roles install everything (molecule,
#               make bench)
#   host-ready  a host from a site's golden image: the Debian packages the
#               roles install (docker role, awscli's distro source, ACL
#               tools, iptables) already there, as the roles would install
#               them (recommends included); the roles configure them
#               (make demo's hosts, the end-to-end test's third worker
#               and rebuilt master)
ARG BASE
FROM ${BASE} AS host
ENV container=docker DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus python3 python3-apt sudo ca-certificates \
      iproute2 procps \
 && update-ca-certificates \
 && apt-get clean \
 # units that make no sense in a container
 && systemctl mask systemd-udevd.service systemd-udevd-kernel.socket \
      systemd-udevd-control.socket getty.target console-getty.service \
      systemd-firstboot.service systemd-remount-fs.service sys-kernel-config.mount \
 && rm -f /etc/machine-id && touch /etc/machine-id
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]

FROM host AS host-ready
RUN apt-get update \
 && apt-get install -y docker.io docker-compose python3-requests python3-yaml awscli acl iptables \
 && apt-get clean
