package loadtest

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// sendTimeout bounds one send: the client resends an unanswered command every 5 s
// with the same client_msg_id, so a few resends fit.
const sendTimeout = 20 * time.Second

// maxInflight bounds the actions one worker has in flight; a pacer that finds no
// free slot counts generator:overloaded instead of queueing, so an overloaded
// generator shows in the report rather than as a silently lower rate.
const maxInflight = 20_000

// load runs the load phase until Duration passes, MaxMessages are sent, or stop.
func (w *worker) load(stop context.Context) {
	ctx, cancel := context.WithTimeout(stop, w.plan.Duration)
	defer cancel()
	if !publishes(w.plan.Scenario) {
		<-ctx.Done() // idle and connect-storm hold their connections
		return
	}
	var wg sync.WaitGroup
	if mixes(w.plan.Scenario) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.pace(ctx, w.plan.Rate*actionsPerSend, 0, w.fireAction)
		}()
	}
	w.pace(ctx, w.plan.Rate, w.plan.MaxMessages, w.fireSend)
	cancel() // the message count can end the phase before its time
	wg.Wait()
}

// pace calls fire(k, due) for k = 0, 1, ... at rate per second, at most limit times
// (0: no limit), until ctx ends. It sleeps until the next message is due (not to a
// fixed tick, which would make every send up to a tick late and the latency counted
// from the due time that much longer), catches up in bursts when it wakes late, so
// the rate holds on average, and hands each call the time it was due.
func (w *worker) pace(ctx context.Context, rate float64, limit int64, fire func(due time.Time)) {
	if rate <= 0 {
		<-ctx.Done()
		return
	}
	start := time.Now()
	at := func(k int64) time.Time { return start.Add(time.Duration(float64(k) * float64(time.Second) / rate)) }
	t := time.NewTimer(0)
	defer t.Stop()
	var k int64
	for {
		due := int64(time.Since(start).Seconds()*rate) + 1
		for ; k < due; k++ {
			if limit > 0 && k >= limit {
				return
			}
			fire(at(k))
		}
		t.Reset(max(time.Until(at(k)), 0))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// spawn runs f on its own goroutine if a slot is free.
func (w *worker) spawn(f func()) bool {
	select {
	case w.slots <- struct{}{}:
	default:
		w.errs.add("generator:overloaded")
		return false
	}
	w.inflight.Add(1)
	go func() {
		defer w.inflight.Done()
		defer func() { <-w.slots }()
		f()
	}()
	return true
}

// fireSend sends the next message from the next publisher, round-robin: publishers
// are laid out so that this keeps every user under the rate limit (see buildLayout).
func (w *worker) fireSend(due time.Time) {
	for range len(w.pubs) {
		c := w.pubs[w.nextPub%len(w.pubs)]
		w.nextPub++
		if !c.acquire() {
			continue
		}
		if !w.spawn(func() { defer c.release(); w.send(c, due) }) {
			c.release()
		}
		return
	}
	w.errs.add("generator:no_publisher")
}

// send sends one stamped message from c and records its acknowledgement.
func (w *worker) send(c *conn, due time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	w.sent.Add(1)
	w.sendLag.record(c.spec.Index, time.Since(due))
	msg, err := c.cl.Send(ctx, c.room, makeContent(due, c.spec.Index, w.plan.MessageSize))
	if err != nil {
		w.errs.add("send:" + errorKind(err))
		return
	}
	w.acked.Add(1)
	w.ackLat.record(c.spec.Index, time.Since(due))
	w.bumpRoomMax(c.spec.Room, msg.Seq)
	w.recent.add(msg.ID, c)
}

// acquire marks c busy with an action unless it is not joined or is between leaving
// and re-joining its room; release undoes it. With startChurn this is a handshake
// over two sequentially consistent atomics: an action and a churn never overlap.
func (c *conn) acquire() bool {
	if !c.joined.Load() {
		return false
	}
	c.busy.Add(1)
	if c.churning.Load() {
		c.busy.Add(-1)
		return false
	}
	return true
}

func (c *conn) release() { c.busy.Add(-1) }

// startChurn claims c for a leave and re-join if no action is under way.
func (c *conn) startChurn() bool {
	if !c.joined.Load() || !c.churning.CompareAndSwap(false, true) {
		return false
	}
	if c.busy.Load() > 0 {
		c.churning.Store(false)
		return false
	}
	return true
}

// recentMessages keeps the last messages this worker sent, for reactions, edits and
// reads to act on.
type recentMessages struct {
	mu   sync.Mutex
	ring [256]recentMessage
	n    int
}

type recentMessage struct {
	id   chat.ID
	from *conn
}

func (r *recentMessages) add(id chat.ID, from *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.n%len(r.ring)] = recentMessage{id, from}
	r.n++
}

func (r *recentMessages) pick() (recentMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return recentMessage{}, false
	}
	return r.ring[rand.IntN(min(r.n, len(r.ring)))], true
}

// probe sends one message into every room whose first connection this worker holds,
// from a member whose user has sent fewer than 8 probes (the rate limit is 10 per
// 10 s per user), so that idle and connect-storm check delivery too: every held
// connection must still receive.
func (w *worker) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	perUser := map[int]int{}
	var senders []*conn
	for r, cs := range w.roomConns {
		if cs[0].spec.Index != r*w.plan.Members {
			continue // another worker holds the room's first connection and probes it
		}
		var from *conn
		for _, c := range cs {
			if c.joined.Load() && perUser[c.spec.User] < 8 {
				from = c
				break
			}
		}
		if from == nil {
			w.errs.add("probe:no_sender")
			continue
		}
		perUser[from.spec.User]++
		senders = append(senders, from)
	}
	_ = parallel(ctx, len(senders), 64, func(_ context.Context, i int) error {
		w.send(senders[i], time.Now())
		return nil
	})
}

// drain waits, at most DrainTimeout, for the actions in flight and then for every
// stream to reach its room's highest known seq with no delivery for a moment (the
// quiet period covers rooms whose senders are in another worker).
func (w *worker) drain() {
	deadline := time.Now().Add(w.plan.DrainTimeout)
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		w.log.Warn("drain: actions still in flight at the drain timeout")
	}
	const quiet = 500 * time.Millisecond
	last, quietSince := w.delivered.Load(), time.Now()
	for time.Now().Before(deadline) {
		if time.Since(quietSince) >= quiet && w.caughtUp() {
			return
		}
		time.Sleep(50 * time.Millisecond)
		if n := w.delivered.Load(); n != last {
			last, quietSince = n, time.Now()
		}
	}
}

// caughtUp says every joined stream reached its room's highest known seq.
func (w *worker) caughtUp() bool {
	for r, cs := range w.roomConns {
		top := w.roomMax[r].Load()
		for _, c := range cs {
			if c.joined.Load() && c.st.lastSeq() < top {
				return false
			}
		}
	}
	return true
}
