#!/usr/bin/env bash
# http.sh - requests/s of GET availability and POST booking through nginx and
# the pool, next to nginx answering a static 200 (the HTTP ceiling), measured
# with wrk in one run on one machine. Bounded: about a minute. Called by
# `./dev bench http` with APPOINTD_URL, APPOINTD_VAR, APPOINTD_ROOT and
# APPOINTD_ADMIN_KEY set.
set -euo pipefail
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=2
url=$APPOINTD_URL
var=$APPOINTD_VAR
auth="Authorization: Bearer $APPOINTD_ADMIN_KEY"

# The ceiling: a bare nginx on its own port.
static_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$var/static"
cat >"$var/static/nginx.conf" <<CONF
worker_processes 1;
pid $var/static/nginx.pid;
error_log $var/static/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $var/static/tmp;
    server { listen 127.0.0.1:$static_port; location / { return 200 'ok'; } }
}
CONF
nginx -c "$var/static/nginx.conf" -p "$var/static" 2>/dev/null
trap 'kill -QUIT $(cat "$var/static/nginx.pid") 2>/dev/null || true' EXIT

provider=$(python3 -c 'import uuid; print(uuid.uuid4())')
curl -fsS -XPOST "$url/api/providers/$provider/schedule" -H 'Content-Type: application/json' -H "$auth" \
	-d '{"timezone":"Europe/Berlin","appointmentDuration":5,"slotInterval":5,
	     "weeklySchedule":{"monday":{"start":"00:00","end":"24:00"},"tuesday":{"start":"00:00","end":"24:00"},
	     "wednesday":{"start":"00:00","end":"24:00"},"thursday":{"start":"00:00","end":"24:00"},
	     "friday":{"start":"00:00","end":"24:00"},"saturday":{"start":"00:00","end":"24:00"},
	     "sunday":{"start":"00:00","end":"24:00"}}}' >/dev/null
date=$(date -u -d '+30 days' +%F)
base=$(( ($(date -u -d "$date" +%s) + 40 * 86400) / 3600 * 3600 ))

run() { # name, wrk args...
	local name=$1 out rps lat
	shift
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@")
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	lat=$(awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} END {print p50 " " p99}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
	printf '%-34s %10s req/s   p50 %-8s p99 %-8s non-2xx %s\n' "$name" "$rps" ${lat} "${non2xx:-0}"
	echo "$rps" >"$var/bench.$name"
}
echo "wrk: $THREADS threads, $CONNS connections, $DURATION each, after a 2 s warm-up"
wrk -t1 -c4 -d2s -H "$auth" "$url/api/providers/$provider/availability?date=$date" >/dev/null
run static_200 "http://127.0.0.1:$static_port/"
run availability_1_date -H "$auth" "$url/api/providers/$provider/availability?date=$date"
run booking "$url/api/appointments" -s "$APPOINTD_ROOT/t/bench/booking.lua" -- "$base" "$provider" "$THREADS" "$APPOINTD_ADMIN_KEY"
awk -v s="$(cat "$var/bench.static_200")" -v a="$(cat "$var/bench.availability_1_date")" -v b="$(cat "$var/bench.booking")" \
	'BEGIN { printf "ratios to the static-200 ceiling: availability %.1f%%, booking %.1f%%\n", 100*a/s, 100*b/s }'
