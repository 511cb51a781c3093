# Shared by the bench scripts (workers.sh, workers-nsd.sh, eventlog.sh, auth.sh): the processes
# to stop on exit, waiting for a port, CPU ticks, the median of a list, and one measured
# smtp-source run against the server whose pid is in $server. Source it; the caller sets
# `server` and may add to `pids`.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime, clock ticks
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
finish() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run <port> <messages> <smtp-source flags...>: "msgs/s cpu-µs/msg" of the server on port.
run() {
    local port=$1 n=$2; shift 2
    local c0 c1 t0 t1
    c0=$(ticks "$server"); t0=$(now)
    if ! /usr/sbin/smtp-source -s 20 -m "$n" -l 2048 -f bench@example.com -t sink@example.com \
            "$@" 127.0.0.1:"$port" >/dev/null; then
        echo "smtp-source failed against port $port" >&2; exit 1
    fi
    t1=$(now); c1=$(ticks "$server")
    awk -v n="$n" -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" \
        'BEGIN { printf "%.1f %.0f\n", n / (b - a), (c1 - c0) / hz * 1e6 / n }'
}

# slow_table <start-function> <first port>: the table of a 50 ms rcptproc for workers 0..16;
# <start-function> port workers speed relay starts the server.
slow_table() {
    local start=$1 port=$2 base="" w n rate
    printf '%-10s %10s %12s\n' workers "msgs/s" "x workers 0"
    for w in 0 1 2 4 8 16; do
        n=$(( w == 0 ? 100 : (w > 8 ? 800 : 100 * w) ))
        "$start" "$port" "$w" slow ""
        read -r rate _ <<<"$(run "$port" "$n")"
        finish
        base=${base:-$rate}
        printf '%-10s %10.1f %12.2f\n' "$w" "$rate" "$(awk -v a="$rate" -v b="$base" 'BEGIN { print a / b }')"
        port=$((port + 1))
    done
}
