#!/bin/sh
# stand-in: answers `containerd --version` like Docker's containerd.io 1.7.27 package (its output
# format: "containerd containerd.io VERSION COMMIT"), on a test host (tests/testbed) where containerd
# cannot run. Runs nothing.
if [ "${1:-}" = "--version" ] || [ "${1:-}" = "-v" ]; then
  echo "containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da"; exit 0
fi
echo "k8s-tui test stand-in for containerd: '$*' is not answered" >&2
exit 2
