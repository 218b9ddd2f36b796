"""Real SSH test hosts in network namespaces on this machine (see testhosts.py, hosts.sh)."""
