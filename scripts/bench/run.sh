#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, run with the bundled tools on this machine.
#
#   scripts/bench/run.sh [--runs N] [SUITE...]
#
# Suites (all by default, in this order):
#   send      durable group-commit throughput and acknowledgement latency (go test -bench
#             in ./node against a Postgres with fsync and synchronous commit on)
#   idle      node memory and goroutines per idle connection (chatload idle)
#   storm     WebSocket upgrades per second (chatload connect-storm)
#   fanout    one room of 5,000 subscribers: deliveries/s and per node CPU-second
#   latency   send-to-receive latency at a steady 2,000 msgs/s over many rooms
# Each suite runs RUNS times (3 by default) against a cluster started by
# deploy/local/cluster.sh (DURABLE=1, pprof listeners on), first of one node, then of
# three for the cross-node figures, and prints the median with the spread (min-max) of
# each figure. Reports (chatload --json/--html, go test output) stay in OUT.
#
# Environment (defaults in brackets): RUNS [3]  OUT [./data/bench/DATE]
#   IDLE_CONNS [19000]  STORM_CONNS [10000]  FANOUT_CONNS [5000]  FANOUT_RATE [40]
#   LATENCY_RATE [2000]  LATENCY_CONNS [4000]  LATENCY_ROOMS [2000]  DURATION [20s]
#   WRITE_DELAY [0]      the nodes' --ws-write-delay (e.g. 500ms for the fan-out goal)
#   WARMUP [5s]          latency: also report the latency without the load's first WARMUP
#   DRAIN [30s]          fanout, latency: chatload --drain-timeout; a saturated cluster
#                        delivers seconds late, and what is still missing then is reported
#                        apart from the gaps, as "undelivered at the drain's end"
# Server CPU comes from the nodes' own process_cpu_seconds_total (/proc/PID/stat), so
# the load generator's share of the two cores is not counted as the server's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

RUNS=${RUNS:-3}
SUITES=()
while (($#)); do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	send | idle | storm | fanout | latency) SUITES+=("$1"); shift ;;
	*) echo "bench: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
((${#SUITES[@]})) || SUITES=(send idle storm fanout latency)

OUT=${OUT:-./data/bench/$(date +%Y%m%d-%H%M%S)}
IDLE_CONNS=${IDLE_CONNS:-19000}
STORM_CONNS=${STORM_CONNS:-10000}
FANOUT_CONNS=${FANOUT_CONNS:-5000}
FANOUT_RATE=${FANOUT_RATE:-40}
LATENCY_RATE=${LATENCY_RATE:-2000}
LATENCY_CONNS=${LATENCY_CONNS:-4000}
LATENCY_ROOMS=${LATENCY_ROOMS:-2000}
DURATION=${DURATION:-20s}
WRITE_DELAY=${WRITE_DELAY:-0}
WARMUP=${WARMUP:-5s}
DRAIN=${DRAIN:-30s}
HTTP_BASE=18281 GOSSIP_BASE=18946 PEER_BASE=18956 DEBUG_BASE=16160
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

go build -o "$OUT/chatd" ./cmd/chatd
go build -o "$OUT/chatload" ./cmd/chatload

CLUSTER_PID=
stop_cluster() {
	[[ -n $CLUSTER_PID ]] || return 0
	kill -TERM "$CLUSTER_PID" 2>/dev/null || true # (a background job ignores SIGINT)
	wait "$CLUSTER_PID" 2>/dev/null || true
	CLUSTER_PID=
}
trap stop_cluster EXIT

# start_cluster N: a fresh cluster of N nodes; returns once every node sees N members.
start_cluster() {
	stop_cluster
	local n=$1 i
	# The previous cluster's nodes drain for a few seconds after its script exits.
	for ((i = 0; i < 60; i++)); do
		ss -Htln "sport = :$HTTP_BASE" | grep -q . || break
		sleep 0.5
	done
	NODES=$n DURABLE=1 DEBUG_BASE=$DEBUG_BASE HTTP_BASE=$HTTP_BASE GOSSIP_BASE=$GOSSIP_BASE \
		PEER_BASE=$PEER_BASE CLUSTER_DIR="$OUT/cluster$n" BIN="$OUT/chatd" SKIP_BUILD=1 \
		NODE_ARGS="--max-conns-per-user 500 --ws-write-delay $WRITE_DELAY" \
		deploy/local/cluster.sh --reset >"$OUT/cluster$n.log" 2>&1 &
	CLUSTER_PID=$!
	local deadline=$((SECONDS + 120))
	until grep -q 'nodes is up' "$OUT/cluster$n.log" 2>/dev/null && all_ready "$n"; do
		kill -0 "$CLUSTER_PID" 2>/dev/null || { tail -20 "$OUT/cluster$n.log" >&2; die "cluster of $n did not start"; }
		((SECONDS < deadline)) || die "cluster of $n not ready after 120 s"
		sleep 1
	done
	log "cluster of $n node(s) ready"
}
all_ready() {
	local i
	for ((i = 0; i < $1; i++)); do
		curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$((HTTP_BASE + i))/readyz" || return 1
	done
}
targets() {
	local i list=
	for ((i = 0; i < $1; i++)); do list+="${list:+,}http://127.0.0.1:$((HTTP_BASE + i))"; done
	echo "$list"
}
pprofs() {
	local i list=
	for ((i = 0; i < $1; i++)); do list+="${list:+,}http://127.0.0.1:$((DEBUG_BASE + i))"; done
	echo "$list"
}

# stat NAME UNIT JQ FILES...: median and spread of a figure over the runs' reports.
stat() {
	local name=$1 unit=$2 expr=$3
	shift 3
	jq -rs --arg name "$name" --arg unit "$unit" "map($expr) | sort |
		\"\\(\$name): median \\(if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end | . * 100 | round / 100) \\(\$unit) (min \\(.[0] | . * 100 | round / 100), max \\(.[-1] | . * 100 | round / 100), n=\\(length))\"" "$@"
}

# load SCENARIO TAG NODES ARGS...: RUNS chatload runs, reports in OUT/TAG-i.json.
load() {
	local scenario=$1 tag=$2 nodes=$3 i
	shift 3
	for ((i = 1; i <= RUNS; i++)); do
		log "$tag run $i/$RUNS: chatload $scenario $*"
		"$OUT/chatload" "$scenario" --target "$(targets "$nodes")" --quiet \
			--json "$OUT/$tag-$i.json" --html "$OUT/$tag-$i.html" "$@" >"$OUT/$tag-$i.txt" 2>&1 ||
			log "$tag run $i: chatload exited $? (see $OUT/$tag-$i.txt)"
	done
}

suite_send() {
	start_cluster 1
	local url
	url=$(grep -o 'postgres://[^ ]*' "$OUT/cluster1.log" | head -n1)
	[[ -n $url ]] || die "no Postgres URL in the cluster's output"
	# The benchmarks drive a node in the test binary against the cluster's durable
	# Postgres; the cluster's own node stays idle.
	local i
	for ((i = 1; i <= RUNS; i++)); do
		log "send run $i/$RUNS: closed-loop senders"
		CHATD_TEST_POSTGRES_URL=$url go test -run '^$' -bench BenchmarkSendSenders -benchtime 40000x ./node \
			>"$OUT/send-senders-$i.txt" 2>&1 || log "send run $i failed (see $OUT/send-senders-$i.txt)"
	done
	grep -h '^BenchmarkSendSenders' "$OUT"/send-senders-*.txt | awk '{
		for (i = 1; i <= NF; i++) if ($i == "msgs/s") r[$1] = r[$1] " " $(i-1); else if ($i == "ack-p99-ms") p[$1] = p[$1] " " $(i-1)
	} END { for (k in r) print k ": msgs/s" r[k] "; ack p99 ms" p[k] }' | sort
	local best
	best=$(grep -h '^BenchmarkSendSenders' "$OUT"/send-senders-*.txt |
		awk '{ for (i = 1; i <= NF; i++) if ($i == "msgs/s") print int($(i-1)) }' | sort -n | tail -n1)
	log "send: ceiling ${best} msgs/s; offering 50% and 90% of it"
	for ((i = 1; i <= RUNS; i++)); do
		CHATD_BENCH_RATES="$((best / 2)),$((best * 9 / 10))" CHATD_TEST_POSTGRES_URL=$url \
			go test -run '^$' -bench BenchmarkSendAtRate -benchtime 1x ./node >"$OUT/send-rate-$i.txt" 2>&1 ||
			log "send rate run $i failed (see $OUT/send-rate-$i.txt)"
	done
	grep -h '^BenchmarkSendAtRate' "$OUT"/send-rate-*.txt
	stop_cluster
}

suite_idle() {
	start_cluster 1
	load idle idle 1 --conns "$IDLE_CONNS" --duration 30s --pprof "$(pprofs 1)"
	stat "idle: RSS per connection, net of free heap" B '.server.rss_net_bytes_per_conn' "$OUT"/idle-*.json
	stat "idle: Go heap+stacks per connection" B '.server.go_inuse_bytes_per_conn' "$OUT"/idle-*.json
	stat "idle: live heap per connection" B '.server.live_heap_bytes_per_conn' "$OUT"/idle-*.json
	stat "idle: goroutines per connection" '' '.server.goroutines_per_conn' "$OUT"/idle-*.json
}

suite_storm() {
	start_cluster 1
	load connect-storm storm 1 --conns "$STORM_CONNS" --duration 5s
	stat "storm: upgrades per second (wall)" /s '.connections.per_second' "$OUT"/storm-*.json
	stat "storm: upgrades per node CPU-second" /cpu-s '.server.upgrades_per_cpu_second' "$OUT"/storm-*.json
	stat "storm: handshake p99" ms '.connections.handshake.p99_ms' "$OUT"/storm-*.json
}

suite_fanout() {
	local n
	for n in 1 3; do
		start_cluster "$n"
		load fanout "fanout$n" "$n" --conns "$FANOUT_CONNS" --rate "$FANOUT_RATE" --duration "$DURATION" --drain-timeout "$DRAIN"
		stat "fanout ($n node): deliveries/s" /s '.deliveries.per_second' "$OUT"/fanout$n-*.json
		stat "fanout ($n node): deliveries per node CPU-second" /cpu-s '.server.deliveries_per_cpu_second' "$OUT"/fanout$n-*.json
		stat "fanout ($n node): latency p99" ms '.deliveries.latency.p99_ms' "$OUT"/fanout$n-*.json
		stat "fanout ($n node): lost" '' '.delivery.lost' "$OUT"/fanout$n-*.json
		stat "fanout ($n node): undelivered at the drain's end" '' '.delivery.undelivered // 0' "$OUT"/fanout$n-*.json
	done
}

suite_latency() {
	local n
	for n in 1 3; do
		start_cluster "$n"
		load rooms "latency$n" "$n" --conns "$LATENCY_CONNS" --rooms "$LATENCY_ROOMS" --rate "$LATENCY_RATE" --duration "$DURATION" --warmup "$WARMUP" --drain-timeout "$DRAIN"
		for q in p50 p99 p999; do
			stat "latency ($n node): $q" ms ".deliveries.latency.${q}_ms" "$OUT"/latency$n-*.json
		done
		for q in p50 p99 p999; do
			stat "latency ($n node), after the first $WARMUP: $q" ms ".deliveries.latency_steady.${q}_ms" "$OUT"/latency$n-*.json
		done
		stat "latency ($n node): acked msgs/s" /s '.messages.per_second' "$OUT"/latency$n-*.json
		stat "latency ($n node): lost" '' '.delivery.lost' "$OUT"/latency$n-*.json
		stat "latency ($n node): undelivered at the drain's end" '' '.delivery.undelivered // 0' "$OUT"/latency$n-*.json
	done
}

for s in "${SUITES[@]}"; do
	log "suite $s"
	# Not a pipe: a suite must run in this shell, which keeps CLUSTER_PID.
	"suite_$s" > >(tee -a "$OUT/summary.txt")
done
stop_cluster
log "done: $OUT/summary.txt"
