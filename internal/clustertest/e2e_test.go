package clustertest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/client"
)

// user is a registered account on the cluster.
type user struct {
	token string
	id    chat.ID
	name  string
}

// call makes a JSON request to node base and decodes the answer into out.
func call(t testing.TB, base, token, method, path string, body, out any, want int) {
	t.Helper()
	status, raw := request(t, base, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s on %s: %d, want %d: %s", method, path, base, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
}

// request sends a JSON request (body nil: none) with the bearer token, if any, and
// returns the status and the body; a failed round trip fails the test.
func request(t testing.TB, base, token, method, path string, body any) (int, json.RawMessage) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	return resp.StatusCode, raw
}

var userSeq int

func register(t testing.TB, base, prefix string) user {
	userSeq++
	name := fmt.Sprintf("%s%d", prefix, userSeq)
	var out struct {
		Token string    `json:"token"`
		User  chat.User `json:"user"`
	}
	call(t, base, "", "POST", "/auth/register", map[string]string{"username": name, "password": "password-" + name}, &out, http.StatusCreated)
	return user{token: out.Token, id: out.User.ID, name: name}
}

// receiver records the messages a client delivers for one room.
type receiver struct {
	mu   sync.Mutex
	seqs []int64
	msgs []chat.Message
}

func (r *receiver) onEvent(room chat.ID) func(client.Event) {
	return func(ev client.Event) {
		if ev.Type != "message_created" {
			return
		}
		var d struct {
			RoomID  chat.ID      `json:"room_id"`
			Message chat.Message `json:"message"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.RoomID == room {
			r.mu.Lock()
			r.seqs = append(r.seqs, d.Message.Seq)
			r.msgs = append(r.msgs, d.Message)
			r.mu.Unlock()
		}
	}
}

func (r *receiver) got() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.seqs...)
}

func (r *receiver) messages() []chat.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Message(nil), r.msgs...)
}

func waitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkExact fails unless seqs is exactly from..to, each once, in order.
func checkExact(t testing.TB, who string, seqs []int64, from, to int64) {
	t.Helper()
	if int64(len(seqs)) != to-from+1 {
		t.Fatalf("%s received %d messages, want %d: %v", who, len(seqs), to-from+1, seqs)
	}
	for i, s := range seqs {
		if s != from+int64(i) {
			t.Fatalf("%s: delivery %d has seq %d (gap, duplicate or reorder): %v", who, i, s, seqs)
		}
	}
}

// TestClusterDeliversAcrossNodes: members connected to different nodes send through
// whichever node they hold and every one of them receives every message once, in
// seq order, whichever node owns the room.
func TestClusterDeliversAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := Start(t, Options{Nodes: 3})
	c.WaitForMembers(t, 3, 30*time.Second)
	owner := register(t, c.URL(0), "own")
	var room chat.Room
	call(t, c.URL(0), owner.token, "POST", "/rooms", map[string]any{"name": "across", "type": "public"}, &room, http.StatusCreated)
	users := []user{owner}
	for i := 1; i < 3; i++ {
		u := register(t, c.URL(i), "mem")
		call(t, c.URL(i), u.token, "POST", "/rooms/"+room.ID.String()+"/join", nil, nil, http.StatusOK)
		users = append(users, u)
	}
	var ownership struct {
		Owner string `json:"owner"`
	}
	call(t, c.URL(0), c.OperatorToken(), "GET", "/cluster/rooms/"+room.ID.String(), nil, &ownership, http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recv := make([]*receiver, 3)
	clients := make([]*client.Client, 3)
	var start int64
	for i, u := range users {
		recv[i] = &receiver{}
		clients[i] = client.New(client.Config{URL: c.URL(i), Token: u.token, OnEvent: recv[i].onEvent(room.ID)})
		defer clients[i].Close()
		last, err := clients[i].Join(ctx, room.ID)
		if err != nil {
			t.Fatalf("join on node %d: %v", i, err)
		}
		start = max(start, last)
	}
	const each = 8
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if _, err := clients[i].Send(ctx, room.ID, fmt.Sprintf("from node %d #%d", i, j)); err != nil {
					t.Errorf("send via node %d: %v", i, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	total := start + 3*each
	for i := range recv {
		waitUntil(t, fmt.Sprintf("node %d's client to receive up to seq %d", i, total), 20*time.Second, func() bool {
			s := recv[i].got()
			return len(s) > 0 && s[len(s)-1] >= total
		})
	}
	for i := range recv {
		got := recv[i].got()
		checkExact(t, fmt.Sprintf("client on node %d (owner %s)", i, ownership.Owner), got, got[0], total)
	}
	checkSameHistory(t, c, users, room.ID, recv, total)
	// Every node forwarded sends to the owner or events from it: its peer links and
	// joins show in /metrics.
	for i := range 3 {
		for _, m := range []string{"chatd_peer_link_bytes_out_total", "chatd_peer_link_bytes_in_total",
			"chatd_peer_link_frames_in_total", `chatd_peer_links{direction="out"}`, `chatd_peer_links{direction="in"}`,
			`chatd_ws_joins_total{result="joined"}`} {
			if v, err := c.metric(i, m); err != nil || v <= 0 {
				t.Errorf("node %d: %s = %v (%v), want > 0", i, m, v, err)
			}
		}
	}
}

// checkSameHistory: the room's history, read through every node (REST, and a
// WebSocket join from seq 0 that replays it), is the same everywhere, and the same
// as the live messages each node's client received (id, seq, sender, content).
func checkSameHistory(t *testing.T, c *Cluster, users []user, room chat.ID, recv []*receiver, total int64) {
	t.Helper()
	key := func(m chat.Message) string {
		return fmt.Sprintf("%d %s %s %q", m.Seq, m.ID, m.Sender.ID, m.Content)
	}
	var want []string
	for i, u := range users {
		var page struct {
			Items []chat.Message `json:"items"`
		}
		call(t, c.URL(i), u.token, "GET", "/rooms/"+room.String()+"/messages?limit=100", nil, &page, http.StatusOK)
		slices.SortFunc(page.Items, func(a, b chat.Message) int { return cmp.Compare(a.Seq, b.Seq) })
		rest := make([]string, len(page.Items))
		for j, m := range page.Items {
			rest[j] = key(m)
		}
		if int64(len(rest)) != total {
			t.Fatalf("history through node %d has %d messages, want %d", i, len(rest), total)
		}
		if want == nil {
			want = rest
		} else if !slices.Equal(rest, want) {
			t.Fatalf("history through node %d differs from node 0's:\n%v\nwant\n%v", i, rest, want)
		}
		var live []string
		for _, m := range recv[i].messages() {
			live = append(live, key(m))
		}
		if !slices.Equal(live, want[total-int64(len(live)):]) {
			t.Fatalf("node %d's client received live\n%v\nbut the history says\n%v", i, live, want)
		}
		replay := &receiver{}
		cl := client.New(client.Config{URL: c.URL(i), Token: u.token, OnEvent: replay.onEvent(room)})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := cl.JoinFrom(ctx, room, 0)
		cancel()
		if err != nil {
			cl.Close()
			t.Fatalf("join from seq 0 through node %d: %v", i, err)
		}
		waitUntil(t, fmt.Sprintf("the replay through node %d", i), 20*time.Second, func() bool { return len(replay.got()) >= int(total) })
		cl.Close()
		var replayed []string
		for _, m := range replay.messages() {
			replayed = append(replayed, key(m))
		}
		if !slices.Equal(replayed, want) {
			t.Fatalf("the replay through node %d\n%v\ndiffers from the history\n%v", i, replayed, want)
		}
	}
}

// TestClusterSurvivesOwnerKill: the room's owner is killed; the others take the room
// over (a new epoch), clients connected elsewhere keep their subscriptions, and every
// message acknowledged before and after arrives exactly once, in order.
func TestClusterSurvivesOwnerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	c := Start(t, Options{Nodes: 3})
	c.WaitForMembers(t, 3, 30*time.Second)
	a := register(t, c.URL(0), "ka")
	var room chat.Room
	call(t, c.URL(0), a.token, "POST", "/rooms", map[string]any{"name": "kill", "type": "public"}, &room, http.StatusCreated)
	var ownership struct {
		Owner string `json:"owner"`
	}
	call(t, c.URL(0), c.OperatorToken(), "GET", "/cluster/rooms/"+room.ID.String(), nil, &ownership, http.StatusOK)
	victim := -1
	for i := 0; i < 3; i++ {
		if c.Name(i) == ownership.Owner {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("owner %q is not a node", ownership.Owner)
	}
	// Two members on the two surviving nodes.
	var survivors []int
	for i := 0; i < 3; i++ {
		if i != victim {
			survivors = append(survivors, i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var members []user
	var recv []*receiver
	var clients []*client.Client
	for _, i := range survivors {
		u := register(t, c.URL(i), "kb")
		call(t, c.URL(i), u.token, "POST", "/rooms/"+room.ID.String()+"/join", nil, nil, http.StatusOK)
		r := &receiver{}
		cl := client.New(client.Config{URL: c.URL(i), Token: u.token, OnEvent: r.onEvent(room.ID)})
		defer cl.Close()
		if _, err := cl.JoinFrom(ctx, room.ID, 0); err != nil {
			t.Fatalf("join via node %d: %v", i, err)
		}
		members, recv, clients = append(members, u), append(recv, r), append(clients, cl)
	}
	send := func(k int, label string) {
		for j := 0; j < 4; j++ {
			if _, err := clients[k].Send(ctx, room.ID, fmt.Sprintf("%s %d", label, j)); err != nil {
				t.Fatalf("send %s via node %d: %v", label, survivors[k], err)
			}
		}
	}
	send(0, "before")
	c.Kill(victim)
	send(1, "after")
	send(0, "after")
	var last chat.Message
	var page struct {
		Items []chat.Message `json:"items"`
	}
	call(t, c.URL(survivors[0]), members[0].token, "GET", "/rooms/"+room.ID.String()+"/messages?limit=1", nil, &page, http.StatusOK)
	last = page.Items[0]
	for k := range recv {
		waitUntil(t, fmt.Sprintf("client %d to reach seq %d", k, last.Seq), 30*time.Second, func() bool {
			s := recv[k].got()
			return len(s) > 0 && s[len(s)-1] >= last.Seq
		})
		checkExact(t, fmt.Sprintf("client on node %d", survivors[k]), recv[k].got(), 1, last.Seq)
	}
	var after struct {
		Owner string `json:"owner"`
		Epoch int64  `json:"epoch"`
	}
	call(t, c.URL(survivors[0]), c.OperatorToken(), "GET", "/cluster/rooms/"+room.ID.String(), nil, &after, http.StatusOK)
	if after.Owner == ownership.Owner {
		t.Fatalf("the killed node %s still owns the room", after.Owner)
	}
}
