#!/bin/sh
# stand-in: replays recorded output of kubeadm v1.32 from public sources (tests/fixtures/kubeadm/SOURCES.md):
#   init        init-single-v1.32.txt   kubeadm v1.32.13, github.com/oss-slu/k8s-dev-cluster kubeadm-init.log @ 585854f7
#   join        join-worker-v1.32.txt / join-control-plane-v1.32.txt   kubeadm v1.32.7, Vezpi/Blog post 2025-07-18
#   init, when /etc/k8s-tui-standin/fail-init exists:
#               wait-control-plane-timeout-api-check.txt   pabpereza/pabpereza issue #170 (tail of a failed init)
#   config images pull --config FILE
#               kubeadm v1.23.1 output from lima-vm/lima pull request #513 (comment of 2022-01-03: the run
#               that pulled all seven images; its last line, cut off there, is coredns/coredns:v1.8.6 as
#               the image list in lima-vm/lima pull request #522 of the same day shows). The recorded
#               repository k8s.gcr.io is replaced by FILE's imageRepository (else registry.k8s.io), and
#               coredns/coredns by coredns under a custom one, as kubeadm names it there.
#               When /etc/k8s-tui-standin/fail-pull exists: the failed run of the same comment (five
#               images pulled, then etcd: "network is unreachable"; the error on stderr), exit status 1.
# The recorded node address and name are replaced by this host's (done when the stand-in is installed).
# Like kubeadm, it writes /etc/kubernetes/admin.conf, kubelet.conf, the static pod manifests, ...
# (placeholder content, no real certificates) so that k8s-tui's idempotence checks see a cluster.
# It starts nothing and listens on nothing. Installed on a test host only (tests/testbed), never elsewhere.
set -u
VERSION=@@VERSION@@
ADDR=@@ADDRESS@@
NODE=@@NODE@@
STATE=/var/lib/k8s-tui-standin

replay() {  # stdin: recorded output; klog lines (I0321 ..., W0321 ...) go to stderr, as kubeadm writes them
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      [IWEF][0-9][0-9][0-9][0-9]\ *) printf '%s\n' "$line" >&2 ;;
      *) printf '%s\n' "$line" ;;
    esac
    sleep 0.02
  done
}

kubeconfig() {  # $1 user name
  cat <<KCFG
# k8s-tui test stand-in: placeholder kubeconfig (no real certificates)
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: c3RhbmQtaW4K
    server: https://$ADDR:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: $1
  name: $1@kubernetes
current-context: $1@kubernetes
users:
- name: $1
  user:
    client-certificate-data: c3RhbmQtaW4K
    client-key-data: c3RhbmQtaW4K
KCFG
}

write_node_files() {  # $1: init | join-worker | join-control-plane
  mkdir -p /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/kubelet "$STATE"
  kubeconfig "system:node:$NODE" > /etc/kubernetes/kubelet.conf
  printf 'kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\ncgroupDriver: systemd\n' > /var/lib/kubelet/config.yaml
  if [ "$1" != join-worker ]; then
    kubeconfig kubernetes-admin > /etc/kubernetes/admin.conf
    kubeconfig kubernetes-super-admin > /etc/kubernetes/super-admin.conf
    kubeconfig system:kube-controller-manager > /etc/kubernetes/controller-manager.conf
    kubeconfig system:kube-scheduler > /etc/kubernetes/scheduler.conf
    for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
      printf '# k8s-tui test stand-in: static pod manifest placeholder for %s\n' "$c" > "/etc/kubernetes/manifests/$c.yaml"
    done
    printf 'stand-in CA\n' > /etc/kubernetes/pki/ca.crt
    chmod 600 /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf
  fi
  chmod 600 /etc/kubernetes/kubelet.conf
  echo "$1" > "$STATE/node"
}

replay_images() {  # $1: image repository; stdin: recorded `kubeadm config images pull` output
  if [ "$1" = registry.k8s.io ]; then
    sed -e "s|k8s.gcr.io/|$1/|g" | replay
  else
    sed -e "s|k8s.gcr.io/coredns/coredns:|k8s.gcr.io/coredns:|g" -e "s|k8s.gcr.io/|$1/|g" | replay
  fi
}

case "${1:-}" in
  config)
    if [ "${2:-}" = images ] && [ "${3:-}" = pull ]; then
      cfg=""
      [ "${4:-}" = "--config" ] && cfg=${5:-}
      repo=""
      [ -n "$cfg" ] && repo=$(sed -n 's/^imageRepository: *//p' "$cfg" | head -n 1)
      case "$repo" in ""|*[!A-Za-z0-9._:/-]*) repo=registry.k8s.io ;; esac
      if [ -e /etc/k8s-tui-standin/fail-pull ]; then
        replay_images "$repo" <<'K8S_TUI_RECORDED'
[config/images] Pulled k8s.gcr.io/kube-apiserver:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-controller-manager:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-scheduler:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-proxy:v1.23.1
[config/images] Pulled k8s.gcr.io/pause:3.6
K8S_TUI_RECORDED
        replay_images "$repo" >&2 <<'K8S_TUI_RECORDED'
failed to pull image "k8s.gcr.io/etcd:3.5.1-0": output: time="2022-01-03T17:25:59Z" level=fatal msg="pulling image: rpc error: code = Unknown desc = failed to pull and unpack image \"k8s.gcr.io/etcd:3.5.1-0\": failed to resolve reference \"k8s.gcr.io/etcd:3.5.1-0\": failed to do request: Head \"https://k8s.gcr.io/v2/etcd/manifests/3.5.1-0\": dial tcp 74.125.135.82:443: connect: network is unreachable"
, error: exit status 1
To see the stack trace of this error execute with --v=5 or higher
K8S_TUI_RECORDED
        exit 1
      fi
      replay_images "$repo" <<'K8S_TUI_RECORDED'
[config/images] Pulled k8s.gcr.io/kube-apiserver:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-controller-manager:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-scheduler:v1.23.1
[config/images] Pulled k8s.gcr.io/kube-proxy:v1.23.1
[config/images] Pulled k8s.gcr.io/pause:3.6
[config/images] Pulled k8s.gcr.io/etcd:3.5.1-0
[config/images] Pulled k8s.gcr.io/coredns/coredns:v1.8.6
K8S_TUI_RECORDED
      exit 0
    fi ;;
  version)
    if [ "${2:-}" = "-o" ] && [ "${3:-}" = short ]; then echo "$VERSION"; exit 0; fi
    echo "kubeadm version: &version.Info{Major:\"1\", Minor:\"32\", GitVersion:\"$VERSION\", GoVersion:\"go1.23.12\", Compiler:\"gc\", Platform:\"linux/amd64\"}"
    exit 0 ;;
  init)
    if [ "${2:-}" = phase ]; then  # init phase upload-certs --upload-certs
      echo '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace'
      echo '[upload-certs] Using certificate key:'
      echo '@@CERT_KEY@@'
      exit 0
    fi
    if [ -e /etc/kubernetes/manifests/kube-apiserver.yaml ]; then
      echo '[preflight] Running pre-flight checks'
      echo 'error execution phase preflight: [preflight] Some fatal errors occurred:' >&2
      printf '\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists\n' >&2
      exit 1
    fi
    if [ -e /etc/k8s-tui-standin/fail-init ]; then
      replay <<'K8S_TUI_RECORDED'
@@INIT_FAILURE@@
K8S_TUI_RECORDED
      exit 1
    fi
    write_node_files init
    replay <<'K8S_TUI_RECORDED'
@@INIT_OUTPUT@@
K8S_TUI_RECORDED
    exit 0 ;;
  join)
    cfg=""
    [ "${2:-}" = "--config" ] && cfg=${3:-}
    if [ -n "$cfg" ] && grep -q '^controlPlane:' "$cfg" 2>/dev/null; then
      write_node_files join-control-plane
      replay <<'K8S_TUI_RECORDED'
@@JOIN_CP_OUTPUT@@
K8S_TUI_RECORDED
    else
      write_node_files join-worker
      replay <<'K8S_TUI_RECORDED'
@@JOIN_WORKER_OUTPUT@@
K8S_TUI_RECORDED
    fi
    exit 0 ;;
  token)
    if [ "${2:-}" = create ]; then
      echo '@@JOIN_COMMAND@@'
      exit 0
    fi ;;
  reset)
    # no recorded `kubeadm reset` output in the fixtures: this says what it removes instead
    echo "[reset] k8s-tui test stand-in: removing /etc/kubernetes, /var/lib/kubelet and its own state"
    rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/etcd "$STATE"
    exit 0 ;;
esac
echo "k8s-tui test stand-in for kubeadm: '$*' is not replayed" >&2
exit 2
