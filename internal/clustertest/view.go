package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// View is a node's GET /cluster (API.md, "Pinned details").
type View struct {
	Self        string   `json:"self"`
	RingVersion int64    `json:"ring_version"`
	Members     []Member `json:"members"`
}

// Member is one entry of View.Members.
type Member struct {
	Name       string `json:"name"`
	State      string `json:"state"` // alive, suspect, dead or left
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr"`
	PeerAddr   string `json:"peer_addr"`
	RoomsOwned int    `json:"rooms_owned"`
}

// Alive returns the names of the members in state alive, in the view's order.
func (v View) Alive() []string {
	var names []string
	for _, m := range v.Members {
		if m.State == "alive" {
			names = append(names, m.Name)
		}
	}
	return names
}

// View asks node i for its GET /cluster with the operator token.
func (c *Cluster) View(i int) (View, error) {
	req, err := http.NewRequest(http.MethodGet, c.URL(i)+"/cluster", nil)
	if err != nil {
		return View{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.operatorToken)
	resp, err := httpClient.Do(req)
	if err != nil {
		return View{}, fmt.Errorf("GET /cluster on %s: %w", c.Name(i), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return View{}, fmt.Errorf("GET /cluster on %s: %s", c.Name(i), resp.Status)
	}
	var v View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return View{}, fmt.Errorf("GET /cluster on %s: decode: %w", c.Name(i), err)
	}
	return v, nil
}

// WaitForMembers polls GET /cluster on every running, unpaused node until each sees
// exactly n alive members, and fails tb with every node's last answer after d.
func (c *Cluster) WaitForMembers(tb testing.TB, n int, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		status, done := c.membersStatus(n)
		if done {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("clustertest: waited %v for every live node to see %d alive members:\n%s", d, n, status)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// membersStatus reports whether every live node sees n alive members, and what each
// one sees.
func (c *Cluster) membersStatus(n int) (status string, done bool) {
	var b strings.Builder
	done, live := true, 0
	for i, nd := range c.nodes {
		if !c.Running(i) || nd.paused {
			fmt.Fprintf(&b, "  %s: not running or paused\n", nd.name)
			continue
		}
		live++
		v, err := c.View(i)
		if err != nil {
			done = false
			fmt.Fprintf(&b, "  %s: %v\n", nd.name, err)
			continue
		}
		alive := v.Alive()
		if len(alive) != n {
			done = false
		}
		fmt.Fprintf(&b, "  %s: %d alive %v, members %+v\n", nd.name, len(alive), alive, v.Members)
	}
	return b.String(), done && live > 0
}
