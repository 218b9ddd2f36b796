#!/bin/sh
# stand-in: answers the kubectl v1.32 calls k8s-tui makes, in kubectl's output formats, on a test host
# (tests/testbed) where no API server runs. The API "answers" while /etc/kubernetes/admin.conf exists
# (written by the kubeadm stand-in); the nodes are the plan's hosts, given when the stand-in is
# installed; they are Ready once a network add-on manifest was applied (as real nodes are).
set -u
VERSION=@@VERSION@@
NODES="@@NODES@@"
STATE=/var/lib/k8s-tui-standin
REFUSED='The connection to the server localhost:8080 was refused - did you specify the right host or port?'

args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kubeconfig) shift ;;
    --kubeconfig=*) ;;
    *) args="$args $1" ;;
  esac
  shift
done
set -- $args

if [ "${1:-}" = version ]; then
  echo "Client Version: $VERSION"; echo "Kustomize Version: v5.5.0"; exit 0
fi
[ -e /etc/kubernetes/admin.conf ] || { echo "$REFUSED" >&2; exit 1; }
ns=default
if [ "${1:-}" = "-n" ]; then ns=$2; shift 2; fi
cni_applied() { ls "$STATE/applied/" 2>/dev/null | grep -q .; }

case "${1:-}" in
  get)
    case "${2:-}" in
      --raw) echo ok; exit 0 ;;
      --raw=*) echo ok; exit 0 ;;
      node)
        for n in $NODES; do [ "$n" = "${3:-}" ] && { echo "node/$n"; exit 0; }; done
        echo "Error from server (NotFound): nodes \"${3:-}\" not found" >&2; exit 1 ;;
      nodes)
        if [ "${3:-}" = "-o" ] && [ "${4:-}" = name ]; then
          for n in $NODES; do echo "node/$n"; done; exit 0
        fi
        echo "NAME   STATUS   ROLES   AGE   VERSION"
        for n in $NODES; do
          if cni_applied; then s=Ready; else s=NotReady; fi
          echo "$n   $s   <none>   1m   $VERSION"
        done
        exit 0 ;;
      daemonset)
        if grep -l -q "^kind: DaemonSet" "$STATE"/applied/* 2>/dev/null && grep -h -q "^  name: ${3:-}\$" "$STATE"/applied/* 2>/dev/null; then
          echo "daemonset.apps/${3:-}"; exit 0
        fi
        echo "Error from server (NotFound): daemonsets.apps \"${3:-}\" not found" >&2; exit 1 ;;
    esac ;;
  apply)
    f=${3:-}
    [ "${2:-}" = "-f" ] && [ -r "$f" ] || { echo "error: the path \"$f\" does not exist" >&2; exit 1; }
    mkdir -p "$STATE/applied"
    verb=created
    [ -e "$STATE/applied/$(basename "$f")" ] && verb=unchanged
    cp "$f" "$STATE/applied/$(basename "$f")"
    awk -v verb="$verb" '/^---/ {kind=""; meta=0} /^kind:/ {kind=tolower($2)} /^metadata:/ {meta=1; next}
         meta && /^  name:/ {print kind "/" $2 " " verb; meta=0}' "$f"
    exit 0 ;;
  wait)
    nodes=""; timeout=30
    for a in "$@"; do
      case "$a" in node/*) nodes="$nodes ${a#node/}" ;; --timeout=*) timeout=${a#--timeout=}; timeout=${timeout%s} ;; esac
    done
    for n in $nodes; do
      found=no; for m in $NODES; do [ "$m" = "$n" ] && found=yes; done
      [ $found = yes ] || { echo "Error from server (NotFound): nodes \"$n\" not found" >&2; exit 1; }
    done
    if cni_applied; then
      for n in $nodes; do echo "node/$n condition met"; done; exit 0
    fi
    [ "$timeout" -gt 2 ] && timeout=2
    sleep "$timeout"
    set -- $nodes
    echo "error: timed out waiting for the condition on nodes/$1" >&2; exit 1 ;;
esac
echo "k8s-tui test stand-in for kubectl: '$*' is not answered" >&2
exit 2
