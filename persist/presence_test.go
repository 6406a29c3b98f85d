package persist

import (
	"context"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
)

func TestPresence(t *testing.T) {
	impls := map[string]func(t *testing.T) Presence{
		"memory": func(*testing.T) Presence { return NewMemoryPresence() },
		"redis":  func(t *testing.T) Presence { return NewRedisPresence(openRedisURL(t, testsvc.RedisURL(t))) },
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			p := mk(t)
			ctx := context.Background()
			alice, bob := chat.NewID(), chat.NewID()
			steps := []struct {
				name    string
				do      func() (int, error)
				want    int
				present bool
			}{
				{"first device on n1", func() (int, error) { return p.Connect(ctx, alice, "n1") }, 1, true},
				{"second device on n2", func() (int, error) { return p.Connect(ctx, alice, "n2") }, 2, true},
				{"third device on n1", func() (int, error) { return p.Connect(ctx, alice, "n1") }, 3, true},
				{"n2 device leaves", func() (int, error) { return p.Disconnect(ctx, alice, "n2") }, 2, true},
				{"one n1 device leaves", func() (int, error) { return p.Disconnect(ctx, alice, "n1") }, 1, true},
				{"last device leaves", func() (int, error) { return p.Disconnect(ctx, alice, "n1") }, 0, false},
			}
			for _, st := range steps {
				got, err := st.do()
				if err != nil || got != st.want {
					t.Fatalf("%s: total %d err %v, want %d", st.name, got, err, st.want)
				}
				on, err := p.Connected(ctx, []chat.ID{alice, bob})
				if err != nil || on[alice] != st.present || on[bob] {
					t.Fatalf("%s: connected %v err %v, want alice=%v bob=false", st.name, on, err, st.present)
				}
			}
			if restored, err := p.Refresh(ctx, nil, "n1"); err != nil || len(restored) != 0 {
				t.Fatalf("refresh of no one: %v %v", restored, err)
			}
			// A store that lost its entries (Redis restarted empty) gets them back
			// from the holding node's heartbeat.
			if _, err := p.Connect(ctx, bob, "n1"); err != nil {
				t.Fatal(err)
			}
			if r, ok := p.(*redisPresence); ok {
				if err := r.client.Del(ctx, presenceKey(bob)).Err(); err != nil {
					t.Fatal(err)
				}
			}
			restored, err := p.Refresh(ctx, []chat.ID{bob}, "n1")
			if err != nil {
				t.Fatal(err)
			}
			if _, isRedis := p.(*redisPresence); isRedis != (len(restored) == 1 && restored[0] == bob) {
				t.Fatalf("refresh restored %v, want bob exactly when the store had lost him", restored)
			}
			if on, err := p.Connected(ctx, []chat.ID{bob}); err != nil || !on[bob] {
				t.Fatalf("after a refresh: connected %v err %v, want bob", on, err)
			}
			if total, err := p.Disconnect(ctx, bob, "n1"); err != nil || total != 0 {
				t.Fatalf("bob's one node leaves: total %d err %v, want 0", total, err)
			}
		})
	}
}
