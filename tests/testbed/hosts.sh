#!/usr/bin/env bash
# SSH test hosts on this machine, for trying k8s-tui by hand (root only).
#
#   tests/testbed/hosts.sh up N [--index I] [--prefix P]   # N hosts on 198.18.I.0/24 (default I=0)
#   tests/testbed/hosts.sh down [--index I]                # remove them (all subnets by default)
#   tests/testbed/hosts.sh check                           # can test hosts be made here?
#
# Each host is a network + mount namespace with its own sshd; nothing done on a host changes this
# machine (see tests/testbed/testhosts.py). State lives in /run/k8s-tui-testbed/.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" -m tests.testbed.testhosts "$@"
