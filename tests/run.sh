#!/usr/bin/env bash
# Installs what the test suite needs and runs all of it. The README's test command and .ci/run.
# As root it also installs OpenSSH and the network tools, so the integration tests run real SSH
# test hosts in network namespaces; as another user those tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v ssh-keygen >/dev/null || need+=(openssh-client)
  command -v sudo >/dev/null || need+=(sudo)
  command -v ip >/dev/null || need+=(iproute2)
  command -v tmux >/dev/null || need+=(tmux)
  command -v nft >/dev/null || need+=(nftables)
  command -v apt-ftparchive >/dev/null || need+=(apt-utils)
  command -v dpkg-deb >/dev/null && command -v dpkg-scanpackages >/dev/null || need+=(dpkg-dev)
  command -v gpg >/dev/null || need+=(gnupg)
  [ -x /usr/bin/tinyproxy ] || need+=(tinyproxy)
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
