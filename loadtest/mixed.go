package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"
)

// actionsPerSend is how many other actions the mixed blend makes per message sent.
const actionsPerSend = 1.0

// mixedActions is the blend of mixed and soak besides sends, by weight (out of 100):
// typing is the most common signal in a chat, reads and reactions follow, edits are
// rarer, and a member leaving and re-joining (which also replays what they missed
// through join_room's since_seq) is the rarest.
var mixedActions = []struct {
	name   string
	weight int
	act    func(w *worker, ctx context.Context)
}{
	{"typing", 30, (*worker).typing},
	{"read", 25, (*worker).read},
	{"reaction", 25, (*worker).react},
	{"edit", 12, (*worker).edit},
	{"churn", 8, (*worker).churn},
}

// reactionEmoji are the emoji reactions pick from.
var reactionEmoji = []string{"👍", "😂", "🎉", "🚀", "👀", "🔥", "✅", "💯"}

// actionTimeout bounds one mixed action, churn's four steps included.
const actionTimeout = 30 * time.Second

// fireAction starts one action of the blend, picked by weight.
func (w *worker) fireAction(time.Time) {
	n := rand.IntN(100)
	for _, a := range mixedActions {
		if n < a.weight {
			w.spawn(func() {
				ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
				defer cancel()
				a.act(w, ctx)
			})
			return
		}
		n -= a.weight
	}
}

// someConn picks a random connection of the worker that is free for an action (and
// acquires it), or nil after a few tries.
func (w *worker) someConn(in []*conn) *conn {
	for range 8 {
		if len(in) == 0 {
			return nil
		}
		if c := in[rand.IntN(len(in))]; c.acquire() {
			return c
		}
	}
	return nil
}

// typing signals typing in c's room, and stops a moment later, as a person does.
func (w *worker) typing(ctx context.Context) {
	c := w.someConn(w.conns)
	if c == nil {
		return
	}
	defer c.release()
	data := map[string]any{"room_id": c.room}
	if _, err := c.cl.Do(ctx, "typing_start", data); err != nil {
		w.errs.add("typing:" + errorKind(err))
		return
	}
	select {
	case <-time.After(time.Duration(500+rand.IntN(1500)) * time.Millisecond):
	case <-ctx.Done():
		return
	}
	if _, err := c.cl.Do(ctx, "typing_stop", data); err != nil {
		w.errs.add("typing:" + errorKind(err))
	}
}

// read marks a recent message read by another member of its room (read_message).
func (w *worker) read(ctx context.Context) {
	m, ok := w.recent.pick()
	if !ok {
		return
	}
	c := w.someConn(w.roomConns[m.from.spec.Room])
	if c == nil {
		return
	}
	defer c.release()
	if _, err := c.cl.Do(ctx, "read_message", map[string]any{"message_id": m.id}); err != nil {
		w.errs.add("read:" + errorKind(err))
	}
}

// react adds a reaction (REST) to a recent message as a member of its room.
func (w *worker) react(ctx context.Context) {
	m, ok := w.recent.pick()
	if !ok {
		return
	}
	c := w.someConn(w.roomConns[m.from.spec.Room])
	if c == nil {
		return
	}
	defer c.release()
	body := map[string]string{"emoji": reactionEmoji[rand.IntN(len(reactionEmoji))]}
	path := "/messages/" + m.id.String() + "/reactions"
	if err := w.rest.call(ctx, c.spec.Target, "POST", path, c.user.Token, body, nil); err != nil {
		w.errs.add("reaction:" + errorKind(err))
	}
}

// edit edits (REST) a recent message as its sender, well within the 15 minutes the
// server allows.
func (w *worker) edit(ctx context.Context) {
	m, ok := w.recent.pick()
	if !ok || !m.from.acquire() {
		return
	}
	c := m.from
	defer c.release()
	body := map[string]string{"content": fmt.Sprintf("edited at %s by connection %d", time.Now().Format(time.RFC3339Nano), c.spec.Index)}
	if err := w.rest.call(ctx, c.spec.Target, "PUT", "/messages/"+m.id.String(), c.user.Token, body, nil); err != nil {
		w.errs.add("edit:" + errorKind(err))
	}
}

// churn takes a member out of its room and back: leave_room on the socket, leave
// and join over REST (user_left, user_joined and their system messages), then
// join_room with since_seq = the last seq the stream saw. The replay must fill the
// gap exactly, so the stream's check stays strict across the churn.
func (w *worker) churn(ctx context.Context) {
	var c *conn
	for range 8 {
		if cand := w.conns[rand.IntN(len(w.conns))]; cand.startChurn() {
			c = cand
			break
		}
	}
	if c == nil {
		return
	}
	defer c.churning.Store(false)
	room := url.PathEscape(c.room.String())
	if err := c.cl.Leave(ctx, c.room); err != nil {
		w.errs.add("churn:leave_room:" + errorKind(err))
	}
	if err := w.rest.call(ctx, c.spec.Target, "POST", "/rooms/"+room+"/leave", c.user.Token, struct{}{}, nil); err != nil {
		w.errs.add("churn:leave:" + errorKind(err))
	}
	if err := w.rest.callRetry(ctx, c.spec.Target, "POST", "/rooms/"+room+"/join", c.user.Token, struct{}{}, nil); err != nil {
		w.errs.add("churn:join:" + errorKind(err))
	}
	last, err := c.cl.JoinFrom(ctx, c.room, c.st.lastSeq())
	if err != nil {
		w.errs.add("churn:join_room:" + errorKind(err))
		return
	}
	w.bumpRoomMax(c.spec.Room, last)
}
