#!/usr/bin/env bash
# Installs the Debian packages napilab's tests and benchmarks use on a real host:
# iproute2 (ip netns, veth), ethtool (GRO on veth), iperf3 (reference generator for bench:gen),
# procps (ps, for humans), util-linux (setpriv: the tests drop capabilities to play an
# unprivileged user), chromium (headless browser the report tests open pages in; Debian's build,
# never a downloaded one). Idempotent; does nothing for packages already present.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ethtool >/dev/null || need+=(ethtool)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ps >/dev/null || need+=(procps)
command -v setpriv >/dev/null || need+=(util-linux)
[ -x /usr/bin/chromium ] || need+=(chromium)
# tmux: the observe tests drive `napilab top` in a real terminal
command -v tmux >/dev/null || need+=(tmux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "system dependencies present: ip, ethtool, iperf3, setpriv, tmux, chromium"
