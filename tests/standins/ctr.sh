#!/bin/sh
# stand-in: containerd's `ctr` on a test host (tests/testbed), where containerd cannot run.
#   ctr -n k8s.io images import FILE   reads the image names from FILE's manifest.json (the
#       docker-archive layout `docker save` writes: [{"RepoTags": [...]}]) and prints, per image,
#       the line real ctr prints: "unpacking NAME (sha256:DIGEST)...done" (containerd 1.x,
#       cmd/ctr/commands/images/import.go: Fprintf "unpacking %s (%s)..." then "done"); the digest
#       here is the tarball's own sha256, not a manifest digest. Records the name.
#   ctr -n k8s.io images ls -q         the names imported so far, one a line
# Every call is appended to /var/lib/k8s-tui-standin/ctr.log. Unpacks nothing.
STATE=/var/lib/k8s-tui-standin
mkdir -p "$STATE"
echo "$*" >> "$STATE/ctr.log"
ns=default
if [ "${1:-}" = "-n" ] || [ "${1:-}" = "--namespace" ]; then ns=$2; shift 2; fi
case "${1:-} ${2:-}" in
  "images import"|"image import"|"i import")
    f=$3
    if [ ! -f "$f" ]; then echo "ctr: open $f: no such file or directory" >&2; exit 1; fi
    names=$(tar -xOf "$f" manifest.json 2>/dev/null | tr ',[]{}' '\n\n\n\n\n' | sed -n 's/^ *"\([a-z0-9.:-]*\/[^"]*:[^"]*\)" *$/\1/p')
    if [ -z "$names" ]; then echo "ctr: unrecognized image format" >&2; exit 1; fi
    digest=$(sha256sum "$f" | cut -d' ' -f1)
    for n in $names; do
      printf 'unpacking %s (sha256:%s)...done\n' "$n" "$digest"
      grep -qxF "$n" "$STATE/ctr-images.$ns" 2>/dev/null || echo "$n" >> "$STATE/ctr-images.$ns"
    done
    ;;
  "images ls"|"image ls"|"i ls")
    [ -f "$STATE/ctr-images.$ns" ] && cat "$STATE/ctr-images.$ns"
    ;;
  *)
    echo "k8s-tui test stand-in for ctr: '$*' is not answered" >&2
    exit 2
    ;;
esac
