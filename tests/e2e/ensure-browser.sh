#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the end-to-end UI check (no browser
# download from anywhere else).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi
echo "[e2e] installing chromium and chromium-driver" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
