#!/bin/sh
# kops commands for cluster corp (corp.k8s.local), written by k8s-tui from its plan.
# kops is cloud-bound: it creates the machines itself. Fill in first:
#   cluster.yaml: spec.cloudProvider: aws, gce, azure, digitalocean, hetzner, openstack or scaleway
#   cluster.yaml: spec.configBase: the state store URL plus the cluster name, e.g. s3://my-kops-state/NAME
#   cluster.yaml: spec.subnets[].zone: the cloud zone, e.g. eu-west-1a (and the subnet CIDR inside networkCIDR)
#   instancegroups.yaml: spec.machineType: an instance type of that cloud, e.g. t3.medium
#   commands.sh: KOPS_STATE_STORE: the state store bucket, e.g. s3://my-kops-state (export it)
# Then run this script; `kops update cluster` without --yes only previews.
set -eu
cd "$(dirname "$0")"
: "${KOPS_STATE_STORE:?export KOPS_STATE_STORE=s3://your-state-bucket first}"
if grep -nE '(:|-) FILL-IN-' cluster.yaml instancegroups.yaml; then
  echo "fill in the FILL-IN fields listed above first" >&2
  exit 1
fi
kops create -f cluster.yaml
kops create -f instancegroups.yaml
kops create sshpublickey --name corp.k8s.local -i "${SSH_PUBLIC_KEY:-$HOME/.ssh/id_rsa.pub}"
kops update cluster --name corp.k8s.local
kops update cluster --name corp.k8s.local --yes --admin
kops validate cluster --name corp.k8s.local --wait 10m
