package loadtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/chatd/chatd/chat"
)

// user is a registered account of the run.
type user struct {
	ID    chat.ID `json:"id"`
	Token string  `json:"token"`
}

// world is what the setup made: users, rooms and their owner.
type world struct {
	RunID string
	Owner user
	Users []user
	Rooms []chat.ID
}

// Setup concurrency. Registration hashes a password with argon2id (about 40 ms of
// CPU), and the server runs at most 2*GOMAXPROCS hashes at a time, so more
// parallel registrations only queue; other setup calls are cheap.
const (
	registerParallel = 4
	setupParallel    = 32
)

// newRunID returns 6 random letters and digits that make this run's names unique.
func newRunID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// setupWorld registers the users, creates the rooms and makes the users members,
// through the public REST API only. status receives a line per step.
func setupWorld(ctx context.Context, rc *restClient, l *layout, status func(string)) (*world, error) {
	w := &world{RunID: newRunID()}
	owner, err := register(ctx, rc, 0, w.RunID, "o")
	if err != nil {
		return nil, fmt.Errorf("loadtest: register the rooms' owner: %w", err)
	}
	w.Owner = owner
	start := time.Now()
	w.Users = make([]user, l.Users)
	var done atomic.Int64
	err = parallel(ctx, l.Users, registerParallel, func(ctx context.Context, i int) error {
		u, err := register(ctx, rc, i, w.RunID, fmt.Sprint(i))
		if err != nil {
			return fmt.Errorf("loadtest: register user %d: %w", i, err)
		}
		w.Users[i] = u
		if n := done.Add(1); n%50 == 0 || int(n) == l.Users {
			status(fmt.Sprintf("setup: registered %d/%d users (%.0f/s)", n, l.Users, float64(n)/time.Since(start).Seconds()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.Rooms = make([]chat.ID, l.Rooms)
	err = parallel(ctx, l.Rooms, setupParallel, func(ctx context.Context, i int) error {
		var room chat.Room
		body := map[string]any{"name": fmt.Sprintf("lt %s %d", w.RunID, i), "type": "public"}
		if err := rc.callRetry(ctx, i, "POST", "/rooms", owner.Token, body, &room); err != nil {
			return fmt.Errorf("loadtest: create room %d: %w", i, err)
		}
		w.Rooms[i] = room.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	status(fmt.Sprintf("setup: created %d rooms", l.Rooms))
	pairs := l.memberships()
	err = parallel(ctx, len(pairs), setupParallel, func(ctx context.Context, i int) error {
		u, r := pairs[i][0], pairs[i][1]
		path := "/rooms/" + w.Rooms[r].String() + "/join"
		if err := rc.callRetry(ctx, i, "POST", path, w.Users[u].Token, struct{}{}, nil); err != nil {
			return fmt.Errorf("loadtest: user %d joins room %d: %w", u, r, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	status(fmt.Sprintf("setup: %d users in %d rooms (%d memberships) in %s", l.Users, l.Rooms, len(pairs),
		time.Since(start).Round(time.Millisecond)))
	return w, nil
}

// register creates the user lt<run>_<suffix> and returns its id and token.
func register(ctx context.Context, rc *restClient, ti int, runID, suffix string) (user, error) {
	name := "lt" + runID + "_" + suffix
	var out struct {
		Token string    `json:"token"`
		User  chat.User `json:"user"`
	}
	body := map[string]string{"username": name, "password": "loadtest-" + runID + "-pw", "display_name": name}
	if err := rc.callRetry(ctx, ti, "POST", "/auth/register", "", body, &out); err != nil {
		return user{}, err
	}
	return user{ID: out.User.ID, Token: out.Token}, nil
}

// parallel runs f(0..n-1) with at most par at a time; the first error cancels the rest.
func parallel(ctx context.Context, n, par int, f func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return f(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
