#!/usr/bin/env bash
# Runs every test of the workspace on a fresh Debian machine: installs what the tests need
# (headless Chromium + chromedriver for the browser tests, redis-server for ssekit-redis and the
# rolling-restart test, nginx for the reverse-proxy test), then `cargo test --workspace`. The
# tests start their own redis-server and nginx on free ports; the packages' services are not
# started by the install.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if ((${#need[@]})); then
    echo "test.sh: installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    # No service starts during the install (nginx would take port 80, redis 6379): the tests
    # run their own. policy-rc.d is how Debian's maintainer scripts are told so.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        trap '$SUDO rm -f "$policy"' EXIT
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
    if [ -n "$(trap -p EXIT)" ]; then
        $SUDO rm -f "$policy"
        trap - EXIT
    fi
fi

cargo test --workspace
