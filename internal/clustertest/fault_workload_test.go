package clustertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/client"
	"github.com/chatd/chatd/internal/history"
)

// The fault tests (fault_*_test.go) run a workload against a real 3-node cluster,
// record every send and every delivery in a history.History, inject a fault, heal,
// drain, read the store and check the history (../shared/RELIABILITY.md).
//
// The workload: a few users homed on each node, all members of a few rooms, one of
// them much busier than the others. Each user has a sender (the client package,
// which reconnects and resends unanswered commands with their client_msg_id) and a
// listener (a raw WebSocket reader, below, that records every message_created frame
// exactly as the server sent it, so that a duplicate the client package would drop
// is still seen). Senders stay under the rate limit of 10 sends per 10 s per user.
//
// CHATD_SOAK=1 runs the long variants (minutes instead of seconds);
// CHATD_FAULT_HISTORY_DIR keeps each test's history (JSON lines) and its nodes' logs
// in that directory (otherwise the history goes to the test's temporary directory
// and is removed); CHATD_FAULT_DEBUG=1 runs the nodes with --log-level=debug.

// startFaultCluster starts the 3-node cluster of a fault test and waits until every
// node sees the others.
func startFaultCluster(t *testing.T) *Cluster {
	t.Helper()
	return startFaultClusterWith(t, Options{Nodes: 3})
}

// startFaultClusterWith starts the cluster of a fault test with opt (Nodes at least
// 1) and waits until every node sees the others.
func startFaultClusterWith(t *testing.T, opt Options) *Cluster {
	t.Helper()
	opt.Nodes = max(opt.Nodes, 1)
	if os.Getenv("CHATD_FAULT_DEBUG") == "1" {
		opt.ExtraArgs = append(opt.ExtraArgs, "--log-level=debug")
	}
	c := Start(t, opt)
	c.WaitForMembers(t, opt.Nodes, 30*time.Second)
	return c
}

// soak reports whether the long variants run.
func soak() bool { return os.Getenv("CHATD_SOAK") == "1" }

// soakOr returns long under CHATD_SOAK=1, else short.
func soakOr(short, long time.Duration) time.Duration {
	if soak() {
		return long
	}
	return short
}

const (
	// sendInterval paces each sender: 8 sends per 10 s, leaving room in the rate
	// limit (10 per 10 s per user) for the client's resends of unanswered sends.
	sendInterval = 1250 * time.Millisecond
	// sendTimeout bounds one send, resends included; past it the outcome is unknown.
	sendTimeout = 30 * time.Second
	// drainTimeout bounds the wait for every listener to catch up with the store.
	drainTimeout = 30 * time.Second
)

// workloadOptions shapes a workload.
type workloadOptions struct {
	UsersPerNode int // default 3
	Rooms        int // default 3; rooms[0] gets BusyShare of the sends
	BusyShare    float64
	// BusyOwner, when set, makes rooms[0] a room that node owns in a ring of
	// BusyRing (a node that joins later, say); the test fails if no room is.
	BusyRing  []string
	BusyOwner string
}

// workload is the traffic of one fault test and its history.
type workload struct {
	t  *testing.T
	c  *Cluster
	h  *history.History
	db *pgxpool.Pool

	rooms []chat.ID
	users []*wuser

	mu     sync.Mutex
	urls   []string       // node index -> base URL the workload's clients use
	closes map[string]int // listener -> close frames with code 1012 (service restart)

	stopTraffic chan struct{}
	senders     sync.WaitGroup
	observer    chan struct{} // closed to stop the ownership observer
	observed    sync.WaitGroup
	busyShare   float64
}

// wuser is one user of the workload: its sender and its listener.
type wuser struct {
	user
	home int // node index
	w    *workload

	mu       sync.Mutex
	cl       *client.Client
	clURL    string
	held     bool // the sender waits (its node is being replaced)
	inFlight bool

	lis *listener
}

// startWorkload registers the users, creates the rooms (everyone a member), connects
// the listeners and waits until each has joined every room, and starts observing
// every room's owner and epoch in the store. Traffic starts with start.
func startWorkload(t *testing.T, c *Cluster, opt workloadOptions) *workload {
	t.Helper()
	if opt.UsersPerNode == 0 {
		opt.UsersPerNode = 3
	}
	if opt.Rooms == 0 {
		opt.Rooms = 3
	}
	if opt.BusyShare == 0 {
		opt.BusyShare = 0.6
	}
	w := &workload{t: t, c: c, h: history.New(), busyShare: opt.BusyShare, observer: make(chan struct{})}
	db, err := pgxpool.New(context.Background(), c.postgresURL())
	if err != nil {
		t.Fatalf("connect to the cluster's store: %v", err)
	}
	w.db = db
	t.Cleanup(db.Close)
	for i := range c.Len() {
		w.urls = append(w.urls, c.URL(i))
	}
	for i := range c.Len() {
		for range opt.UsersPerNode {
			w.users = append(w.users, &wuser{user: register(t, c.URL(i), "fault"), home: i, w: w})
		}
	}
	creator := w.users[0]
	for r := range opt.Rooms {
		var room chat.Room
		call(t, c.URL(creator.home), creator.token, "POST", "/rooms",
			map[string]any{"name": fmt.Sprintf("fault room %d", r), "type": "public"}, &room, http.StatusCreated)
		w.rooms = append(w.rooms, room.ID)
		for _, u := range w.users[1:] {
			call(t, c.URL(u.home), u.token, "POST", "/rooms/"+room.ID.String()+"/join", nil, nil, http.StatusOK)
		}
	}
	if opt.BusyOwner != "" && !makeBusy(w.rooms, opt.BusyRing, opt.BusyOwner) {
		t.Fatalf("result unknown: no room of the workload is %s's in a ring of %v", opt.BusyOwner, opt.BusyRing)
	}
	for _, u := range w.users {
		u.lis = newListener(w, u.name+"/recv", u.home, u.token, w.rooms)
		t.Cleanup(u.lis.close)
	}
	waitUntil(t, "every listener to join every room", 60*time.Second, func() bool {
		for _, u := range w.users {
			if !u.lis.joinedAll() {
				return false
			}
		}
		return true
	})
	w.observed.Add(1)
	go w.observeOwners()
	t.Cleanup(w.stopObserver)
	return w
}

// postgresURL returns the database URL the cluster's nodes share.
func (c *Cluster) postgresURL() string {
	for i, a := range c.common {
		if a == "--postgres-url" && i+1 < len(c.common) {
			return c.common[i+1]
		}
	}
	c.tb.Fatal("clustertest: the cluster has no --postgres-url")
	return ""
}

// url returns the base URL the workload's clients use for node i.
func (w *workload) url(i int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.urls[i]
}

// setURL points the workload's clients of node i at a new address (after
// StartOnNewPorts): listeners reconnect there, senders make a new client.
func (w *workload) setURL(i int, url string) {
	w.mu.Lock()
	w.urls[i] = url
	w.mu.Unlock()
}

// closed records a close frame a listener got from its node.
func (w *workload) closed(l *listener, payload []byte) {
	code := 0
	if len(payload) >= 2 {
		code = int(payload[0])<<8 | int(payload[1])
	}
	w.h.Note(l.name, w.c.nodes[l.home].name, fmt.Sprintf("close frame %d", code))
	if code != 1012 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closes == nil {
		w.closes = map[string]int{}
	}
	w.closes[l.name]++
}

// restartCloses returns how many 1012 close frames the listener got.
func (w *workload) restartCloses(l *listener) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closes[l.name]
}

// start starts every sender.
func (w *workload) start() {
	w.stopTraffic = make(chan struct{})
	for _, u := range w.users {
		w.senders.Add(1)
		go u.sendLoop(w.stopTraffic)
	}
}

// stop stops the senders and waits for their last sends to complete.
func (w *workload) stop() {
	close(w.stopTraffic)
	w.senders.Wait()
	for _, u := range w.users {
		u.mu.Lock()
		if u.cl != nil {
			u.cl.Close()
			u.cl = nil
		}
		u.mu.Unlock()
	}
}

// hold stops the senders homed on node i after their current send, and waits until
// none of them has a send in flight.
func (w *workload) hold(i int) {
	for _, u := range w.users {
		if u.home == i {
			u.mu.Lock()
			u.held = true
			u.mu.Unlock()
		}
	}
	waitUntil(w.t, fmt.Sprintf("the senders of %s to finish their sends", w.c.Name(i)), sendTimeout+5*time.Second, func() bool {
		for _, u := range w.users {
			u.mu.Lock()
			busy := u.home == i && u.inFlight
			u.mu.Unlock()
			if busy {
				return false
			}
		}
		return true
	})
}

// release lets the senders of node i go on.
func (w *workload) release(i int) {
	for _, u := range w.users {
		if u.home == i {
			u.mu.Lock()
			u.held = false
			u.mu.Unlock()
		}
	}
}

// fault records a fault in the history and the test log.
func (w *workload) fault(kind string, i int, note string) {
	w.h.Fault(kind, w.c.Name(i), note)
	w.t.Logf("fault: %s %s %s", kind, w.c.Name(i), note)
}

// sendLoop sends paced messages until stop, one at a time.
func (u *wuser) sendLoop(stop <-chan struct{}) {
	defer u.w.senders.Done()
	// Spread the senders' phases so that the cluster sees a steady stream.
	wait := time.Duration(rand.Int64N(int64(sendInterval)))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		u.mu.Lock()
		held := u.held
		u.mu.Unlock()
		if held {
			wait = 50 * time.Millisecond
			continue
		}
		u.sendOne(n)
		wait = sendInterval + time.Duration(rand.Int64N(int64(sendInterval/5)))
	}
}

// sendOne sends one message and records its invoke and outcome.
func (u *wuser) sendOne(n int) {
	w := u.w
	room := w.rooms[0]
	if len(w.rooms) > 1 && rand.Float64() >= w.busyShare {
		room = w.rooms[1+rand.IntN(len(w.rooms)-1)]
	}
	url := w.url(u.home)
	u.mu.Lock()
	if u.cl == nil || u.clURL != url {
		if u.cl != nil {
			u.cl.Close()
		}
		u.cl = client.New(client.Config{URL: url, Token: u.token, MaxBackoff: 2 * time.Second})
		u.clURL = url
	}
	cl := u.cl
	u.inFlight = true
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.inFlight = false
		u.mu.Unlock()
	}()
	node, cmid, rid := w.c.nodes[u.home].name, chat.NewID().String(), room.String()
	w.h.Invoke(u.name, node, rid, cmid)
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	msg, err := cl.SendWithID(ctx, room, fmt.Sprintf("%s #%d", u.name, n), cmid)
	cancel()
	var ce *chat.Error
	switch {
	case err == nil:
		w.h.OK(u.name, node, rid, cmid, msg.Seq, msg.ID.String())
	case errors.As(err, &ce):
		w.h.Fail(u.name, node, rid, cmid, string(ce.Code)+": "+ce.Message)
	default:
		w.h.Info(u.name, node, rid, cmid, err.Error())
	}
}

// observeOwners records every change of a room's owner or epoch in the store.
func (w *workload) observeOwners() {
	defer w.observed.Done()
	type owner struct {
		node  string
		epoch int64
	}
	last := map[chat.ID]owner{}
	ids := make([]string, len(w.rooms))
	for i, r := range w.rooms {
		ids[i] = r.String()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		rows, err := w.db.Query(ctx, `SELECT id, owner_node, owner_epoch FROM rooms WHERE id = ANY($1::uuid[])`, ids)
		if err == nil {
			for rows.Next() {
				var id chat.ID
				var o owner
				if rows.Scan(&id, &o.node, &o.epoch) == nil && last[id] != o {
					last[id] = o
					w.h.Owner(id.String(), o.node, o.epoch)
				}
			}
			rows.Close()
		}
		cancel()
		select {
		case <-w.observer:
			return
		case <-tick.C:
		}
	}
}

func (w *workload) stopObserver() {
	select {
	case <-w.observer:
	default:
		close(w.observer)
	}
	w.observed.Wait()
}

// storeOwner returns a room's owner and epoch as the store has them.
func (w *workload) storeOwner(room chat.ID) (string, int64) {
	var node string
	var epoch int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.db.QueryRow(ctx, `SELECT owner_node, owner_epoch FROM rooms WHERE id = $1`, room).Scan(&node, &epoch); err != nil {
		w.t.Fatalf("read the owner of room %s: %v", room, err)
	}
	return node, epoch
}

// ringOwner asks node i which node owns the room (GET /cluster/rooms/:id) and
// returns that node's index.
func (w *workload) ringOwner(i int, room chat.ID) int {
	w.t.Helper()
	var o struct {
		Owner string `json:"owner"`
	}
	call(w.t, w.c.URL(i), w.c.OperatorToken(), "GET", "/cluster/rooms/"+room.String(), nil, &o, http.StatusOK)
	for j := range w.c.Len() {
		if w.c.Name(j) == o.Owner {
			return j
		}
	}
	w.t.Fatalf("room %s: owner %q is no node of the cluster", room, o.Owner)
	return -1
}

// rows reads every message of the workload's rooms from the store.
func (w *workload) rows() []history.Row {
	w.t.Helper()
	ids := make([]string, len(w.rooms))
	for i, r := range w.rooms {
		ids[i] = r.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := w.db.Query(ctx, `SELECT room_id, seq, id, coalesce(client_msg_id, ''), sender_id, type
		FROM messages WHERE room_id = ANY($1::uuid[]) ORDER BY room_id, seq`, ids)
	if err != nil {
		w.t.Fatalf("read the store: %v", err)
	}
	defer rs.Close()
	var out []history.Row
	for rs.Next() {
		var room, id, sender chat.ID
		var r history.Row
		if err := rs.Scan(&room, &r.Seq, &id, &r.ClientMsgID, &sender, &r.Type); err != nil {
			w.t.Fatalf("read the store: %v", err)
		}
		r.Room, r.ID, r.Sender = room.String(), id.String(), sender.String()
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		w.t.Fatalf("read the store: %v", err)
	}
	return out
}

// maxSeqs returns each room's highest stored seq.
func maxSeqs(rows []history.Row) map[string]int64 {
	m := map[string]int64{}
	for _, r := range rows {
		m[r.Room] = max(m[r.Room], r.Seq)
	}
	return m
}

// drain waits until every listener has every room's messages up to the store's
// highest seq (bounded: a listener that never catches up shows in the report).
func (w *workload) drain() {
	deadline := time.Now().Add(drainTimeout)
	for {
		want := maxSeqs(w.rows())
		behind := ""
		for _, u := range w.users {
			for room, seq := range want {
				if got := u.lis.lastSeq(room); got < seq {
					behind = fmt.Sprintf("%s has %s up to seq %d of %d", u.lis.name, room, got, seq)
				}
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			w.t.Logf("drain: gave up after %v: %s", drainTimeout, behind)
			return
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// finish stops the traffic (if running), drains, reads the store and checks the
// history; the test fails on an unknown result or any anomaly.
func (w *workload) finish(opt history.Options) *history.Report {
	w.t.Helper()
	if w.stopTraffic != nil {
		select {
		case <-w.stopTraffic:
		default:
			w.stop()
		}
	}
	w.drain()
	w.stopObserver()
	rows := w.rows()
	for _, u := range w.users {
		u.lis.close()
	}
	dir := os.Getenv("CHATD_FAULT_HISTORY_DIR")
	if dir == "" {
		dir = w.t.TempDir()
	}
	path := filepath.Join(dir, strings.ReplaceAll(w.t.Name(), "/", "_")+".jsonl")
	if err := w.h.WriteFile(path); err != nil {
		w.t.Errorf("write the history: %v", err)
	}
	if keep := os.Getenv("CHATD_FAULT_HISTORY_DIR"); keep != "" {
		w.c.copyLogs(strings.TrimSuffix(path, ".jsonl"))
	}
	rep := history.Check(w.h, rows, opt)
	w.t.Logf("history (%d events) in %s; report:\n%s", w.h.Len(), path, rep)
	w.logCounts(rep)
	if err := rep.Err(); err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// logCounts prints the counts every fault test reports, on one line that is easy
// to collect from repeated runs. Stale-epoch refusals are the store's refusals of a
// batch from an owner whose epoch was superseded (chatd_fenced_writes_total, summed
// over the nodes running now: a restarted node's count starts again at 0).
func (w *workload) logCounts(rep *history.Report) {
	fenced := 0.0
	for i := range w.c.Len() {
		if w.c.Running(i) && !w.c.nodes[i].paused {
			if v, err := w.c.metric(i, "chatd_fenced_writes_total"); err == nil {
				fenced += v
			}
		}
	}
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	w.t.Logf("COUNTS %s: sent=%d acked=%d failed=%d unknown=%d delivered=%d lost=%d duplicated=%d reordered=%d stale-epoch-refusals=%v ownership-changes=%d latency p50/p99 same-node=%s/%s cross-node=%s/%s",
		w.t.Name(), rep.Invoked, rep.OK, rep.Failed, rep.Info, rep.Deliveries,
		rep.Counts[history.LostAcked]+rep.Counts[history.Undelivered]+rep.Counts[history.Gap],
		rep.Counts[history.Duplicate]+rep.Counts[history.TwoAtOneSeq],
		rep.Counts[history.Order]+rep.Counts[history.FIFO], fenced, rep.OwnershipChanges,
		ms(rep.SameNode.P50), ms(rep.SameNode.P99), ms(rep.CrossNode.P50), ms(rep.CrossNode.P99))
}

// copyLogs copies every node's log next to the kept history, as prefix-nN.log.
func (c *Cluster) copyLogs(prefix string) {
	for _, n := range c.nodes {
		if b, err := os.ReadFile(n.logPath); err == nil {
			_ = os.WriteFile(prefix+"-"+n.name+".log", b, 0o644)
		}
	}
}

// recovery measures, after a fault at `at`, how long until the room took writes
// again: the first ack of a new commit (a seq above every seq acked before `at`).
func recovery(evs []history.Event, room string, at time.Time) (time.Duration, bool) {
	var before int64
	for _, e := range evs {
		if e.Kind == history.KindOK && e.Room == room && e.Time.Before(at) {
			before = max(before, e.Seq)
		}
	}
	for _, e := range evs {
		if e.Kind == history.KindOK && e.Room == room && e.Time.After(at) && e.Seq > before {
			return e.Time.Sub(at), true
		}
	}
	return 0, false
}

// longestSend returns the longest time from invoke to ack of a send.
func longestSend(evs []history.Event) time.Duration {
	inv := map[string]time.Time{}
	var worst time.Duration
	for _, e := range evs {
		switch e.Kind {
		case history.KindInvoke:
			inv[e.ClientMsgID] = e.Time
		case history.KindOK:
			worst = max(worst, e.Time.Sub(inv[e.ClientMsgID]))
		}
	}
	return worst
}

// metric scrapes one counter or gauge (no labels) from node i's /metrics.
func (c *Cluster) metric(i int, name string) (float64, error) {
	resp, err := httpClient.Get(c.URL(i) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, nil // not exported yet: never incremented
}
