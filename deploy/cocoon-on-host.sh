#!/bin/sh
# The cocoon binary the containerised worker calls (docker-compose.yml, the DaemonSet): it runs
# the host's own cocoon in the host's namespaces.
#
# cocoon must not run in the container's mount namespace. It starts cloud-hypervisor, CNI
# plugins and qemu-img from the host's paths and reads its config there, and the VMs it starts
# live on after the container is gone: their processes must not hold on to the container's
# filesystem, and the network namespaces CNI mounts under /var/run/netns must be the host's.
# Entering init's namespaces gives cocoon the same view it has under systemd, with no host
# paths mounted into the container. The cgroup namespace matters too: cocoon moves each VM
# into its own scope under the host's cocoon.slice, which a private cgroup namespace forbids.
#
# Needs a privileged container in the host's PID namespace, so that pid 1 is the host's init.
# The PID namespace is not entered (it is already the host's), so nsenter does not fork and
# the exec keeps the pid: the worker's ledger records that pid and waits on it.
set -eu
exec nsenter --target 1 --mount --uts --ipc --net --cgroup -- /usr/local/bin/cocoon "$@"
