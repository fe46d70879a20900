#!/usr/bin/env bash
# Stop the mail sandbox started by tests/mailserver/start.sh DIR ...
#
#   tests/mailserver/stop.sh DIR
#
# Idempotent: stopping an already stopped (or never started, or half
# started) sandbox succeeds silently. Only the processes of this DIR's
# instances are touched: their master pids are taken from the pid files
# under DIR and checked against the expected executables.
#
# Both master daemons run as session leaders (they setsid() when they
# daemonize), so "all processes of this sandbox" = the processes in those
# two sessions. We SIGTERM them (see below for the details), wait for the
# sessions to empty, and SIGKILL stragglers after ~5 s.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
[[ -d $1 ]] || exit 0 # nothing to stop
DIR=$(cd "$1" && pwd -P)

POSTFIX_MASTER=${POSTFIX_MASTER:-/usr/lib/postfix/sbin/master}
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}

# master_pid PIDFILE EXE: print the pid from PIDFILE if that process is alive
# and runs EXE (guards against stale pid files and recycled pids).
master_pid() {
    local pid exe
    [[ -f $1 ]] || return 0
    pid=$(awk '{ print $1; exit }' "$1" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
    [[ $exe == "$2" ]] && echo "$pid"
    return 0
}

# session_pids SID...: pids of all live processes in the given sessions.
# Zombies are skipped: they hold no sockets or files, and the orphaned
# masters are reaped by pid 1, which in some containers/VMs only happens
# every couple of seconds.
session_pids() {
    local sids=" $* "
    ps -e -o pid=,sid=,stat= | while read -r pid sid stat; do
        [[ $sids == *" $sid "* && $stat != Z* ]] && echo "$pid"
    done
    return 0
}

pf_pid=$(master_pid "$DIR/postfix/queue/pid/master.pid" "$POSTFIX_MASTER")
dc_pid=$(master_pid "$DIR/dovecot/run/master.pid" "$DOVECOT")
sessions="$pf_pid $dc_pid"
[[ -n ${sessions// /} ]] || exit 0 # already stopped

# Postfix: SIGTERM to the master (what `postfix abort` does) makes it
# terminate its whole process group at once; it is gone within a few ms.
# (`postfix stop` waits in 1 s sleep steps, too slow for tests.)
[[ -z $pf_pid ]] || kill -TERM "$pf_pid" 2>/dev/null || true

# Dovecot: SIGTERM to the master alone (what `doveadm stop` does) takes
# ~1 s, because the master waits for its log/anvil children with a timer.
# SIGTERM to every process of its session at the same time ends it within
# ~0.1 s. Side effect: the log ends with "Warning: Killed with signal 15" /
# "Shutting down logging for ..." lines.
if [[ -n $dc_pid ]]; then
    # shellcheck disable=SC2046
    kill -TERM $(session_pids "$dc_pid") 2>/dev/null || true
fi

# Wait up to ~5 s for every process of both sessions to disappear.
for _ in $(seq 100); do
    left=$(session_pids $sessions)
    [[ -z $left ]] && exit 0
    sleep 0.05
done

# Stragglers: kill them by pid.
# shellcheck disable=SC2086
kill -KILL $left 2>/dev/null || true
sleep 0.1
left=$(session_pids $sessions)
if [[ -n $left ]]; then
    echo "stop.sh: processes still alive in $DIR sandbox: $left" >&2
fi
exit 0
