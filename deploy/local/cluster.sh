#!/usr/bin/env bash
# A local chatd cluster: NODES nodes (3 by default) on loopback ports, against a local
# Postgres and Redis started the way the test harness (internal/testsvc) starts them.
# `make cluster` runs it. Ctrl-C stops everything it started: the nodes first (SIGTERM:
# each leaves the ring, hands its rooms over and closes its WebSockets with 1012),
# then Postgres (fast shutdown) and Redis.
#
#   deploy/local/cluster.sh            start, print where everything is, run until Ctrl-C
#   deploy/local/cluster.sh --smoke    start, check the cluster end to end, stop (exit 0 = good)
#   deploy/local/cluster.sh --reset    forget the previous run's data and secrets first
#
# Environment (defaults in brackets):
#   NODES [3]            HTTP_BASE [8081]    GOSSIP_BASE [7946]    PEER_BASE [7956]
#   PG_PORT, REDIS_PORT [the first free from 55432 and 56379]  CLUSTER_DIR [./data/cluster]
#   BIN [bin/chatd]      GO [go]             SKIP_BUILD [unset: build BIN first]
#   READY_TIMEOUT [60]   seconds to wait for the services and the cluster
#   DURABLE [unset]      set: Postgres with fsync and synchronous commit (benchmarks of
#                        durable throughput); unset: the test harness's fast settings
#   DEBUG_BASE [unset]   set: node i serves pprof and metrics on 127.0.0.1:DEBUG_BASE+i-1
#   NODE_ARGS [unset]    more chatd flags for every node, e.g. '--max-conns-per-user 500'
#   PG_ARGS [unset]      more postgres flags, e.g. '-c shared_preload_libraries=pg_stat_statements'
#
# Node i (1-based) serves HTTP on 127.0.0.1:HTTP_BASE+i-1, gossips on GOSSIP_BASE+i-1
# and takes peer links on PEER_BASE+i-1. CLUSTER_DIR keeps Postgres's data, the
# generated secrets and every process's log, so a restart keeps users, messages and
# tokens (--reset starts afresh). Needs bash, curl, Go, and Debian's `postgresql` and
# `redis-server` packages; jq only pretty-prints. The services run in sessions of
# their own (so that Ctrl-C reaches only this script, which stops them in order): if
# the script itself is killed with SIGKILL, stop them by the pids it printed.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

SMOKE=0
RESET=0
for arg in "$@"; do
	case $arg in
	--smoke) SMOKE=1 ;;
	--reset) RESET=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "cluster.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

NODES=${NODES:-3}
HTTP_BASE=${HTTP_BASE:-8081}
GOSSIP_BASE=${GOSSIP_BASE:-7946}
PEER_BASE=${PEER_BASE:-7956}
PG_PORT=${PG_PORT:-}
REDIS_PORT=${REDIS_PORT:-}
CLUSTER_DIR=${CLUSTER_DIR:-./data/cluster}
BIN=${BIN:-bin/chatd}
GO=${GO:-go}
READY_TIMEOUT=${READY_TIMEOUT:-60}

# Output may go to a pipe that is gone (`make cluster | tee log`, then Ctrl-C): writes
# must never stop the script before it has stopped what it started.
log() { printf '%s cluster: %s\n' "$(date +%H:%M:%S)" "$*" 2>/dev/null || true; }
die() { printf 'cluster: %s\n' "$*" >&2 2>/dev/null || true; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

[[ $NODES =~ ^[1-9][0-9]?$ ]] || die "NODES must be 1-99, not $NODES"
have curl || die "curl is needed (apt-get install curl)"

# ---------------------------------------------------------------- processes we own

NODE_PIDS=()
PG_PID=
REDIS_PID=
FORCE=0
CLEANED=0

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# wait_gone SECONDS PID...: true once every PID has exited, false at the deadline (or
# at once after a second Ctrl-C).
wait_gone() {
	local deadline=$((SECONDS + $1)) pid left
	shift
	while :; do
		left=0
		for pid in "$@"; do alive "$pid" && left=1; done
		((left)) || return 0
		((FORCE == 0 && SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop NAME SIGNAL GRACE PID: signal (none when SIGNAL is -), wait up to GRACE
# seconds, then SIGKILL.
stop() {
	local name=$1 sig=$2 grace=$3 pid=$4 code=0
	[[ -n $pid ]] || return 0
	[[ $sig == - ]] || kill -s "$sig" "$pid" 2>/dev/null || true
	if ! wait_gone "$grace" "$pid"; then
		log "$name did not stop within ${grace}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || code=$?
	log "$name stopped (exit $code)"
}

cleanup() {
	((CLEANED)) && return
	CLEANED=1
	set +e
	trap '' PIPE                                        # see log
	trap 'FORCE=1; log "forcing"' INT TERM HUP # a second Ctrl-C stops waiting
	local pid i running=()
	for i in "${!NODE_PIDS[@]}"; do alive "${NODE_PIDS[$i]}" && running+=("$i"); done
	if ((${#running[@]})); then
		log "stopping ${#running[@]} node(s) with SIGTERM (they leave the ring, hand rooms over, close WebSockets with 1012)"
		for i in "${running[@]}"; do kill -TERM "${NODE_PIDS[$i]}" 2>/dev/null || true; done
		# A node's drain is bounded by its own 5 s leave plus 15 s shutdown budget.
		for i in "${running[@]}"; do stop "node$((i + 1))" - 30 "${NODE_PIDS[$i]}"; done
	fi
	[[ -n $PG_PID ]] && stop postgres INT 20 "$PG_PID" # SIGINT: fast shutdown
	[[ -n $REDIS_PID ]] && stop redis TERM 10 "$REDIS_PID"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# tail_log FILE: the end of a log, for error messages.
tail_log() { echo "--- tail of $1 ---"; tail -n 30 "$1" 2>/dev/null || true; echo "---"; }

# ---------------------------------------------------------------- preparation

ports=()
for ((i = 0; i < NODES; i++)); do ports+=($((HTTP_BASE + i)) $((GOSSIP_BASE + i)) $((PEER_BASE + i))); done
# free_port FROM: the first port from FROM on that nothing listens on.
free_port() {
	local p=$1
	while port_busy "$p" || [[ " ${ports[*]} " == *" $p "* ]]; do ((p++)); done
	echo "$p"
}
dup=$(printf '%s\n' "${ports[@]}" | sort | uniq -d | head -n1)
[[ -z $dup ]] || die "port $dup is given to two things: move HTTP_BASE, GOSSIP_BASE or PEER_BASE apart (NODES=$NODES)"
[[ -n $PG_PORT ]] || PG_PORT=$(free_port 55432)
[[ -n $REDIS_PORT ]] || REDIS_PORT=$(free_port 56379)
ports+=("$PG_PORT" "$REDIS_PORT")
for p in "${ports[@]}"; do
	port_busy "$p" && die "port $p on 127.0.0.1 is in use (an earlier cluster still running? see 'ss -ltnp'); change the *_BASE/*_PORT variables or stop it"
done

if [[ -z ${SKIP_BUILD:-} ]]; then
	log "building $BIN"
	"$GO" build -o "$BIN" ./cmd/chatd
fi
[[ -x $BIN ]] || die "$BIN is not an executable (unset SKIP_BUILD to build it)"

# Postgres's server binaries: the newest Debian version, else the ones on PATH.
PGBIN=
for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
	if [[ -x $d/initdb && -x $d/postgres ]]; then PGBIN=$d; break; fi
done
if [[ -z $PGBIN ]] && have initdb && have postgres; then PGBIN=$(dirname "$(command -v initdb)"); fi
[[ -n $PGBIN ]] || die "PostgreSQL server binaries (initdb, postgres) not found: apt-get install postgresql"
REDIS_SERVER=$(command -v redis-server || true)
[[ -n $REDIS_SERVER ]] || die "redis-server not found: apt-get install redis-server"

if ((RESET)) && [[ -d $CLUSTER_DIR ]]; then
	log "--reset: removing $CLUSTER_DIR"
	rm -rf -- "$CLUSTER_DIR"
fi
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR=$(cd "$CLUSTER_DIR" && pwd)
LOGS=$CLUSTER_DIR/logs
mkdir -p "$LOGS" "$CLUSTER_DIR/redis"

# initdb and postgres refuse to run as root: as root, run them as the `postgres` OS
# user (Debian's package creates it), as the test harness does.
AS_PG=()
PGDIR=$CLUSTER_DIR/postgres
if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "running as root, and postgres refuses root, but there is no 'postgres' OS user (apt-get install postgresql creates it)"
	if have setpriv; then
		AS_PG=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
	else
		AS_PG=(runuser -u postgres --)
	fi
	mkdir -p "$PGDIR"
	chown postgres: "$PGDIR"
	chmod 700 "$PGDIR"
	if ! "${AS_PG[@]}" test -w "$PGDIR"; then
		# A parent folder the postgres user cannot enter (./data is private, or the
		# checkout is under /root): keep Postgres's data in a folder of its own under
		# TMPDIR instead, one per CLUSTER_DIR, which --reset removes too.
		rmdir "$PGDIR"
		PGDIR=${TMPDIR:-/tmp}/chatd-cluster-pg-$(printf %s "$CLUSTER_DIR" | cksum | cut -d' ' -f1)
		if ((RESET)) && [[ -d $PGDIR && ! -L $PGDIR ]]; then rm -rf -- "$PGDIR"; fi
		if [[ ! -e $PGDIR ]]; then
			mkdir -m 700 "$PGDIR"
			chown postgres: "$PGDIR"
		fi
		[[ -d $PGDIR && ! -L $PGDIR && $(stat -c %U "$PGDIR") == postgres ]] ||
			die "$PGDIR exists but is not a folder of the postgres user"
		log "the postgres user cannot enter $CLUSTER_DIR: Postgres keeps its data in $PGDIR"
	fi
fi
mkdir -p "$PGDIR"

# Secrets: generated once, kept in CLUSTER_DIR/secrets.env (mode 600), so tokens stay
# valid across restarts of the cluster.
SECRETS=$CLUSTER_DIR/secrets.env
if [[ ! -s $SECRETS ]]; then
	rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
	(
		umask 077
		cat >"$SECRETS" <<-EOF
			CLUSTER_KEY=$(rand_hex 32)
			OPERATOR_TOKEN=$(rand_hex 24)
			JWT_SECRET=$(rand_hex 32)
		EOF
	)
fi
# shellcheck source=/dev/null
. "$SECRETS"

# ---------------------------------------------------------------- Postgres and Redis

if [[ ! -s $PGDIR/data/PG_VERSION ]]; then
	log "initdb into $PGDIR/data ($PGBIN)"
	ok=0
	for ctype in C.UTF-8 C; do # a UTF-8 ctype where the locale exists, as the harness does
		rm -rf "$PGDIR/data"
		if (cd "$PGDIR" && "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust \
			-E UTF8 --lc-collate=C --lc-ctype="$ctype" --no-sync --no-instructions) >"$LOGS/initdb.log" 2>&1; then
			ok=1
			break
		fi
	done
	((ok)) || { tail_log "$LOGS/initdb.log"; die "initdb failed"; }
fi

: >>"$LOGS/postgres.log"
((EUID == 0)) && chown postgres: "$LOGS/postgres.log"
if [[ -n ${DURABLE:-} ]]; then
	PG_DURABILITY=(-c fsync=on -c full_page_writes=on -c synchronous_commit=on)
else
	PG_DURABILITY=(-c fsync=off -c full_page_writes=off -c synchronous_commit=off)
fi
# setsid: a new session, so that the terminal's Ctrl-C reaches only this script, which
# then stops the services in order (nodes first, while the store still answers).
(cd "$PGDIR" && exec setsid "${AS_PG[@]}" "$PGBIN/postgres" -D "$PGDIR/data" \
	-c listen_addresses=127.0.0.1 -c port="$PG_PORT" -c unix_socket_directories="$PGDIR" \
	"${PG_DURABILITY[@]}" \
	-c max_connections=300 -c max_parallel_workers_per_gather=0 \
	-c log_min_messages=warning -c log_min_error_statement=panic ${PG_ARGS:-} \
	>>"$LOGS/postgres.log" 2>&1) &
PG_PID=$!
log "postgres started (pid $PG_PID) on 127.0.0.1:$PG_PORT"

(cd "$CLUSTER_DIR/redis" && exec setsid "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 \
	--dir "$CLUSTER_DIR/redis" --save "" --appendonly no --daemonize no \
	--logfile "" --loglevel warning >>"$LOGS/redis.log" 2>&1) &
REDIS_PID=$!
log "redis-server started (pid $REDIS_PID) on 127.0.0.1:$REDIS_PORT, no persistence"

redis_ping() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 2 line <&3 || line=
	exec 3>&- 3<&-
	[[ $line == +PONG* ]]
}
pg_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; }
if [[ ! -x $PGBIN/pg_isready ]]; then pg_ready() { port_busy "$PG_PORT"; }; fi

# wait_for NAME PID LOG CHECK...: poll CHECK until it succeeds, the process dies, or
# READY_TIMEOUT passes.
wait_for() {
	local name=$1 pid=$2 logf=$3 deadline=$((SECONDS + READY_TIMEOUT))
	shift 3
	until "$@" 2>/dev/null; do
		alive "$pid" || { tail_log "$logf"; die "$name exited before it was ready"; }
		((SECONDS < deadline)) || { tail_log "$logf"; die "$name not ready after ${READY_TIMEOUT}s"; }
		sleep 0.2
	done
}
wait_for postgres "$PG_PID" "$LOGS/postgres.log" pg_ready
wait_for redis "$REDIS_PID" "$LOGS/redis.log" redis_ping

PG_DB=postgres
if [[ -x $PGBIN/psql ]]; then
	psql() { "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
	if [[ $(psql "SELECT 1 FROM pg_database WHERE datname = 'chatd'") != 1 ]]; then
		psql "CREATE DATABASE chatd" >/dev/null
	fi
	PG_DB=chatd
fi
POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

# ---------------------------------------------------------------- the nodes

http_url() { echo "http://127.0.0.1:$((HTTP_BASE + $1 - 1))"; }
JOIN=
for ((i = 0; i < NODES; i++)); do JOIN+="${JOIN:+,}127.0.0.1:$((GOSSIP_BASE + i))"; done

# node N: run node N in the foreground of this (background) subshell.
node() {
	local n=$1
	mkdir -p "$CLUSTER_DIR/node$n"
	# Secrets go through the environment, not the command line (which `ps` shows).
	exec env CHATD_CLUSTER_KEY="$CLUSTER_KEY" CHATD_OPERATOR_TOKEN="$OPERATOR_TOKEN" \
		CHATD_JWT_SECRET="$JWT_SECRET" CHATD_POSTGRES_URL="$POSTGRES_URL" CHATD_REDIS_URL="$REDIS_URL" \
		CHATD_ALLOW_UNSCANNED_UPLOADS="${CHATD_ALLOW_UNSCANNED_UPLOADS:-true}" CHATD_CLAMD="${CHATD_CLAMD:-}" \
		setsid "$BIN" --name "node$n" \
		--listen "127.0.0.1:$((HTTP_BASE + n - 1))" \
		--gossip "127.0.0.1:$((GOSSIP_BASE + n - 1))" \
		--peer "127.0.0.1:$((PEER_BASE + n - 1))" \
		--advertise 127.0.0.1 --join "$JOIN" \
		--data-dir "$CLUSTER_DIR/node$n" --log-format text \
		${DEBUG_BASE:+--debug-listen "127.0.0.1:$((DEBUG_BASE + n - 1))"} \
		${NODE_ARGS:-} \
		>>"$LOGS/node$n.log" 2>&1
}
for ((n = 1; n <= NODES; n++)); do
	node "$n" &
	NODE_PIDS+=($!)
	log "node$n started (pid $!): $(http_url "$n"), log $LOGS/node$n.log"
done

ready() { curl -fsS -o /dev/null --max-time 2 "$1/readyz"; }
cluster_json() { curl -fsS --max-time 2 -H "Authorization: Bearer $OPERATOR_TOKEN" "$1/cluster"; }
alive_members() { cluster_json "$1" | grep -o '"state": *"alive"' | wc -l; }
all_see_everyone() {
	local n
	for ((n = 1; n <= NODES; n++)); do
		[[ $(alive_members "$(http_url "$n")") -eq $NODES ]] || return 1
	done
}

for ((n = 1; n <= NODES; n++)); do
	wait_for "node$n" "${NODE_PIDS[$((n - 1))]}" "$LOGS/node$n.log" ready "$(http_url "$n")"
done
log "every node answers /readyz; waiting until each sees $NODES alive members"
deadline=$((SECONDS + READY_TIMEOUT))
until all_see_everyone; do
	for ((n = 1; n <= NODES; n++)); do
		alive "${NODE_PIDS[$((n - 1))]}" || { tail_log "$LOGS/node$n.log"; die "node$n exited"; }
	done
	((SECONDS < deadline)) || { cluster_json "$(http_url 1)" || true; die "the nodes do not all see $NODES members after ${READY_TIMEOUT}s"; }
	sleep 0.2
done

pretty() { if have jq; then jq .; else cat; echo; fi; }

# From here on, a reader of our output that goes away (`| tee`, `| head`) must not
# kill this script with SIGPIPE before it stops the processes (set after they started,
# so that they keep the default).
trap '' PIPE

echo
echo "chatd cluster of $NODES nodes is up (GET /cluster on node1):"
cluster_json "$(http_url 1)" | pretty
echo
for ((n = 1; n <= NODES; n++)); do
	u=$(http_url "$n")
	what="API"
	if curl -fsS --max-time 2 -o /dev/null -w '%{content_type}' "$u/" 2>/dev/null | grep -q text/html; then what="web UI and API"; fi
	printf '  node%-2s %-22s %s, WebSocket ws%s/ws, gossip 127.0.0.1:%s, peer 127.0.0.1:%s\n' \
		"$n" "$u/" "$what" "${u#http}" $((GOSSIP_BASE + n - 1)) $((PEER_BASE + n - 1))
done
cat <<EOF

  cluster key     $CLUSTER_KEY
  operator token  $OPERATOR_TOKEN
  JWT secret      $JWT_SECRET
  (kept in $SECRETS; --reset makes new ones)

  postgres        $POSTGRES_URL
  redis           $REDIS_URL
  logs            $LOGS/ (tail -f $LOGS/node*.log)

  curl -s -H 'Authorization: Bearer $OPERATOR_TOKEN' $(http_url 1)/cluster$(have jq && echo ' | jq')
  curl -s $(http_url 1)/metrics | grep '^chatd_'

EOF

# ---------------------------------------------------------------- --smoke

json_field() { grep -o "\"$1\": *\"[^\"]*\"" | head -n1 | sed 's/.*: *"\(.*\)"/\1/'; }

smoke() {
	local u1 u2 u3 n2 n3 user tok room body hist
	n2=$((NODES >= 2 ? 2 : 1))
	n3=$((NODES >= 3 ? 3 : NODES))
	u1=$(http_url 1)
	u2=$(http_url "$n2")
	u3=$(http_url "$n3")
	user="smoke$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')"
	tok=$(curl -fsS -H 'Content-Type: application/json' \
		-d "{\"username\":\"$user\",\"password\":\"smoke-password-1\"}" "$u1/auth/register" | json_field token)
	[[ -n $tok ]] || die "smoke: register on node1 gave no token"
	room=$(curl -fsS -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		-d '{"name":"smoke","type":"public"}' "$u1/rooms" | json_field id)
	[[ -n $room ]] || die "smoke: create room on node1 gave no id"
	body="hello from node$n2 $(date +%s%N)"
	curl -fsS -o /dev/null -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		-d "{\"content\":\"$body\"}" "$u2/rooms/$room/messages" || die "smoke: send through node$n2 failed"
	hist=$(curl -fsS -H "Authorization: Bearer $tok" "$u3/rooms/$room/messages")
	grep -qF "$body" <<<"$hist" || die "smoke: node$n3 does not show the message sent through node$n2: $hist"
	echo "smoke: user $user registered on node1, room $room created on node1, a message sent through node$n2 is in the history read from node$n3"
	echo "smoke: the room's ownership as node1 sees it:"
	curl -fsS -H "Authorization: Bearer $OPERATOR_TOKEN" "$u1/cluster/rooms/$room" | pretty
	echo "smoke: ok"
}

if ((SMOKE)); then
	smoke
	exit 0 # the EXIT trap stops everything
fi

echo "Ctrl-C stops the cluster (the nodes drain first, then Postgres and Redis)."
# Watch the nodes: report one that exits by itself; stop when none is left.
while :; do
	left=0
	for i in "${!NODE_PIDS[@]}"; do
		pid=${NODE_PIDS[$i]}
		[[ -z $pid ]] && continue
		if alive "$pid"; then
			left=1
		else
			code=0
			wait "$pid" 2>/dev/null || code=$?
			log "node$((i + 1)) exited by itself (exit $code); see $LOGS/node$((i + 1)).log"
			NODE_PIDS[i]=
		fi
	done
	((left)) || die "no node left running"
	alive "$PG_PID" || { tail_log "$LOGS/postgres.log"; die "postgres exited"; }
	alive "$REDIS_PID" || die "redis exited"
	sleep 1 &
	wait $! || true
done
