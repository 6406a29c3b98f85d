#!/usr/bin/env bash
# Idle-connection memory benchmark for wsconn.
#
#   scripts/wsidle/run.sh [N] [PORT]
#   HOLD=40 scripts/wsidle/run.sh 15000   # also report after a keepalive round
#
# Builds and starts the server (scripts/wsidle/server: wsconn with a handler that
# joins every connection to one of 100 rooms), measures its RSS, starts the client
# (scripts/wsidle/client: N connections from 127.0.0.2-5, another process, so each
# process stays under its open-file limit), waits until the server holds N
# connections and its RSS has settled, and prints RSS before/after, the delta per
# connection and the server's goroutine count; then the same after the Go runtime
# returned freed pages to the OS (debug.FreeOSMemory).
set -euo pipefail

N=${1:-15000}
PORT=${2:-9300}
HOLD=${HOLD:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
SERVER_PID= CLIENT_PID=

cleanup() {
	[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null && wait "$CLIENT_PID" 2>/dev/null || true
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

stats() { curl -fsS "http://127.0.0.1:$PORT/stats$1"; }
field() { jq -r ".$1" <<<"$2"; }

(cd "$ROOT" && go build -o "$TMP/server" ./scripts/wsidle/server && go build -o "$TMP/client" ./scripts/wsidle/client)

"$TMP/server" -addr "127.0.0.1:$PORT" &
SERVER_PID=$!
for _ in $(seq 1 100); do stats "" >/dev/null 2>&1 && break; sleep 0.1; done

BEFORE=$(stats "?gc=1")
RSS0=$(field rss_bytes "$BEFORE")
echo "server pid $SERVER_PID: RSS before: $((RSS0 / 1024)) KiB, goroutines $(field goroutines "$BEFORE")"

"$TMP/client" -url "ws://127.0.0.1:$PORT/ws" -n "$N" &
CLIENT_PID=$!

START=$(date +%s)
while :; do
	S=$(stats "")
	C=$(field conns "$S")
	[ "$C" -ge "$N" ] && break
	if [ $(($(date +%s) - START)) -gt 300 ]; then
		echo "only $C of $N connections after 300 s" >&2
		exit 1
	fi
	sleep 0.5
done
echo "connected: $N in $(($(date +%s) - START)) s"

# Wait until RSS is stable (three samples one second apart within 1%).
PREV=0
for _ in $(seq 1 30); do
	S=$(stats "")
	R=$(field rss_bytes "$S")
	if [ "$PREV" -gt 0 ] && [ $(((R - PREV) * 100 / PREV)) -eq 0 ] && [ $(((PREV - R) * 100 / PREV)) -eq 0 ]; then
		STABLE=$((${STABLE:-0} + 1))
		[ "$STABLE" -ge 2 ] && break
	else
		STABLE=0
	fi
	PREV=$R
	sleep 1
done

report() {
	local label=$1 s=$2
	local rss=$(field rss_bytes "$s") g=$(field goroutines "$s") c=$(field conns "$s")
	local d=$((rss - RSS0))
	printf '%-26s RSS %7d KiB  delta %7d KiB  per connection %5d B  goroutines %d  conns %d  heap_inuse %d KiB\n' \
		"$label" $((rss / 1024)) $((d / 1024)) $((d / c)) "$g" "$c" $(($(field heap_inuse "$s") / 1024))
}
report "after (as running):" "$(stats "")"
report "after FreeOSMemory:" "$(stats "?gc=1")"
if [ "$HOLD" -gt 0 ]; then
	sleep "$HOLD" # the server pings every 25 s; the client answers
	S=$(stats "")
	echo "after ${HOLD} s more ($(field pings_sent "$S") pings sent):"
	report "  (as running):" "$S"
	report "  after FreeOSMemory:" "$(stats "?gc=1")"
fi
