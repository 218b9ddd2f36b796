#!/bin/sh
# stand-in: systemctl on a test host (tests/testbed), which has no systemd. `is-active` says
# "active" for the units the other stand-ins play (containerd, kubelet), as systemctl prints it;
# enable/restart/try-restart/start/stop/daemon-reload do nothing and succeed.
case "${1:-}" in
  is-active)
    case "${2:-}" in containerd|kubelet|containerd.service|kubelet.service) echo active; exit 0 ;; esac
    echo inactive; exit 3 ;;
  enable|disable|restart|try-restart|start|stop|daemon-reload|reload) exit 0 ;;
esac
echo "k8s-tui test stand-in for systemctl: '$*' is not answered" >&2
exit 2
