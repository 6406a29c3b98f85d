package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// The send path's benchmarks, from the cheapest step to the whole thing:
//
//	go test ./api -run '^$' -bench . -benchtime 3s
//
// BenchmarkSendDecodeValidate and BenchmarkRenderMarkdown need no store;
// BenchmarkSendREST and BenchmarkGroupCommit start the stores (Postgres through
// internal/testsvc) and report msgs/s. BenchmarkGroupCommit/postgres compares the
// node's group commit at its defaults with CommitMaxBatch 1 (one transaction per
// message), the number the project's closing note quotes.

var benchBody = []byte(`{"content":"Hello @alice, the **build** is green: https://ci.example.com/run/42","client_msg_id":"c-0190b3a0-0001","parent_id":"0190b3a0-0000-7000-8000-000000000000"}`)

// BenchmarkSendDecodeValidate measures decoding and validating a send request (the
// edge's work before any store call).
func BenchmarkSendDecodeValidate(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		var in SendInput
		if err := decodeBody(benchBody, &in, false); err != nil {
			b.Fatal(err)
		}
		if _, _, err := in.validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderMarkdown measures content_html rendering, done once per message.
func BenchmarkRenderMarkdown(b *testing.B) {
	r := NewRenderer()
	for _, tc := range []struct{ name, src string }{
		{"short", "Hello @alice, the **build** is green: https://ci.example.com/run/42"},
		{"plain", "ok, see you tomorrow"},
		{"long", strings.Repeat("Some *markdown* with `code`, a [link](https://example.com) and more text.\n\n", 100)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.src)))
			for b.Loop() {
				_ = r.Render(tc.src)
			}
		})
	}
}

// benchRooms and benchSenders shape the parallel load: many rooms, so that a group
// commit batch spans rooms, and more senders than cores, so that batches form.
const (
	benchRooms       = 64
	benchSenders     = 16
	benchParallelism = 16 // goroutines per GOMAXPROCS
)

// BenchmarkSendREST measures the whole REST send path: HTTP, auth, decoding,
// validation, the idempotency lookup, rate limiting (lifted), rendering, the room
// owner's checks, sequencing, group commit, fan-out and notification checks, with
// parallel senders over many rooms.
func BenchmarkSendREST(b *testing.B) {
	for _, kind := range []string{"embedded", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			e := newEnv(b, kind)
			e.unlimited()
			senders := make([]*client, benchSenders)
			for i := range senders {
				senders[i] = e.register("bench")
			}
			rooms := make([]chat.ID, benchRooms)
			for i := range rooms {
				rooms[i] = e.makeRoom(senders[0], chat.RoomPublic)
				for _, c := range senders[1:] {
					e.addMember(rooms[i], c, chat.RoleMember)
				}
			}
			srv := httptest.NewServer(e.api.Handler()) // without the tests' OpenAPI validation
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 1024}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				g := next.Add(1)
				c := senders[int(g)%len(senders)]
				i := int(g)
				for pb.Next() {
					i++
					url := srv.URL + "/rooms/" + rooms[i%len(rooms)].String() + "/messages"
					req, _ := http.NewRequest("POST", url, bytes.NewReader(
						[]byte(`{"content":"Hello, the **build** is green: https://ci.example.com/run/42"}`)))
					req.Header.Set("Authorization", "Bearer "+c.token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkGroupCommit measures node.Send (sequencing and the group commit to the
// store) with parallel senders over many rooms, with the group commit at its
// defaults and with CommitMaxBatch 1, which commits every message in its own
// transaction. It reports msgs/s and the mean batch size.
func BenchmarkGroupCommit(b *testing.B) {
	for _, kind := range []string{"postgres", "embedded"} {
		for _, mode := range []struct {
			name string
			cfg  node.Config
		}{
			{"group-commit", node.Config{}},
			{"batch-1", node.Config{CommitMaxBatch: 1}},
		} {
			b.Run(kind+"/"+mode.name, func(b *testing.B) {
				e := newEnv(b, kind)
				reg := prometheus.NewRegistry()
				cfg := mode.cfg
				cfg.Name, cfg.Registerer = "bench", reg
				nd, err := node.New(cfg, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					b.Fatal(err)
				}
				defer nd.Close()
				senders, rooms := benchFixtures(b, e)
				var next atomic.Int64
				b.ReportAllocs()
				b.SetParallelism(benchParallelism)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					g := int(next.Add(1))
					sender := senders[g%len(senders)]
					i := g
					for pb.Next() {
						i++
						_, _, err := nd.Send(context.Background(), &node.SendRequest{RoomID: rooms[i%len(rooms)], Sender: sender,
							Type: chat.MessageText, Content: "hello", ContentHTML: "<p>hello</p>"})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				if mean, ok := histogramMean(reg, "chatd_group_commit_batch_size"); ok {
					b.ReportMetric(mean, "msgs/batch")
				}
			})
		}
	}
}

// benchFixtures creates senders (straight in the store: no password hashing) and
// rooms with all of them as members.
func benchFixtures(b *testing.B, e *testEnv) ([]chat.User, []chat.ID) {
	ctx := context.Background()
	senders := make([]chat.User, benchSenders)
	for i := range senders {
		u := chat.User{ID: chat.NewID(), Username: uniqueName("gc"), DisplayName: "bench", CreatedAt: chat.Now()}
		if err := e.store.CreateUser(ctx, &u, "x"); err != nil {
			b.Fatal(err)
		}
		senders[i] = u
	}
	rooms := make([]chat.ID, benchRooms)
	for i := range rooms {
		r := &chat.Room{ID: chat.NewID(), Name: fmt.Sprintf("bench %d", i), Type: chat.RoomPublic, CreatedBy: senders[0].ID, CreatedAt: chat.Now()}
		if err := e.store.CreateRoom(ctx, r); err != nil {
			b.Fatal(err)
		}
		for _, u := range senders[1:] {
			if _, err := e.store.AddMember(ctx, r.ID, u.ID, chat.RoleMember, chat.LevelMentions, chat.Now()); err != nil {
				b.Fatal(err)
			}
		}
		rooms[i] = r.ID
	}
	return senders, rooms
}

// histogramMean reads the mean of a histogram from a registry.
func histogramMean(reg *prometheus.Registry, name string) (float64, bool) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		var h *dto.Histogram = mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() == 0 {
			return 0, false
		}
		return h.GetSampleSum() / float64(h.GetSampleCount()), true
	}
	return 0, false
}

// TestSendDecodeAllocs guards the edge's per-message decoding and validation against
// allocation regressions (14 allocations when written; the bound leaves headroom).
func TestSendDecodeAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		var in SendInput
		if err := decodeBody(benchBody, &in, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := in.validate(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Fatalf("decoding and validating a send takes %.0f allocations, want <= 20", allocs)
	}
}
