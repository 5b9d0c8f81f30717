#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests/browser) if /usr/bin/chromium is missing.
# Playwright drives this browser through executable_path: never run `playwright install`.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; }
fi
echo "$(/usr/lib/chromium/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium"
