#!/bin/sh
# stand-in: answers `kubelet --version` like kubelet v1.32 (its output format: "Kubernetes vX.Y.Z");
# on a test host (tests/testbed) where no kubelet can run. Runs nothing.
if [ "${1:-}" = "--version" ]; then echo "Kubernetes @@VERSION@@"; exit 0; fi
echo "k8s-tui test stand-in for kubelet: '$*' is not answered" >&2
exit 2
