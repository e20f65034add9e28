#!/bin/bash
# Starts a real one-node Slurm cluster (Debian slurm-wlm 22.05 + munge) on this machine, as root, without
# systemd: slurmctld and slurmd on the local host, partition "debug", accounting off. Verified on the
# project's machine kind: `sbatch --wait` of a trivial job returns in ~2 s. Idempotent; prints the pids.
# Stop with: kill $(cat /run/slurmctld.pid) $(cat /run/slurmd.pid); munge keeps running harmlessly.
# pipe's copy (from shared/reference) adds DefMemPerCPU: without it a job that does not ask for --mem is given
# the whole node's memory and jobs run one at a time; with it, jobs of 1 CPU run side by side on every core.
# It also declares a GPU node that never comes up (gpu1, State=FUTURE), so a job asking for --gres=gpu:N is
# accepted and stays pending instead of being refused at submission (tests check the request).
# A changed slurm.conf restarts a running cluster (a new node cannot be added by `scontrol reconfigure`).
set -euo pipefail
command -v slurmctld >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }
H=$(hostname); CPUS=$(nproc); MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
LOG=${SLURM_LOG_DIR:-/tmp/slurm-logs}; mkdir -p "$LOG" /var/spool/slurmctld /var/spool/slurmd /etc/slurm
CONF_NEW=$(mktemp)
cat > "$CONF_NEW" <<CONF
ClusterName=local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
GresTypes=gpu
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
DefMemPerCPU=512
NodeName=$H CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
NodeName=gpu1 CPUs=8 RealMemory=16000 Gres=gpu:1 State=FUTURE
PartitionName=debug Nodes=$H,gpu1 Default=YES MaxTime=INFINITE State=UP
CONF
changed=0
cmp -s "$CONF_NEW" /etc/slurm/slurm.conf || { mv "$CONF_NEW" /etc/slurm/slurm.conf; changed=1; }
rm -f "$CONF_NEW"
if [[ $changed == 1 ]]; then
  for d in slurmctld slurmd; do
    if [[ -f /run/$d.pid ]] && kill -0 "$(cat /run/$d.pid)" 2>/dev/null; then
      pid=$(cat /run/$d.pid); kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
fi
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
[[ -s /etc/munge/munge.key ]] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge; chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || /usr/sbin/munged --force
if ! { [[ -f /run/slurmctld.pid ]] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null; }; then
  rm -f /var/spool/slurmctld/clustername   # state from a cluster of another name would stop slurmctld
  /usr/sbin/slurmctld
fi
[[ -f /run/slurmd.pid ]] && kill -0 "$(cat /run/slurmd.pid)" 2>/dev/null || /usr/sbin/slurmd
up=0; for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc' && { up=1; break; }; sleep 1; done
[[ $up == 1 ]] || { echo 'slurm did not come up:'; tail -n 5 "$LOG/slurmctld.log" "$LOG/slurmd.log"; exit 1; }
sinfo
echo "slurmctld $(cat /run/slurmctld.pid) slurmd $(cat /run/slurmd.pid)"
