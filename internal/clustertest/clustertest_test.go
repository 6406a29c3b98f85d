package clustertest

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// TestSingleNodeLifecycle drives one node through every lifecycle operation. Until
// the membership is wired into GET /cluster, a node is a cluster of one.
func TestSingleNodeLifecycle(t *testing.T) {
	c := Start(t, Options{Nodes: 1})
	c.WaitForMembers(t, 1, 30*time.Second)
	if v, err := c.View(0); err != nil || v.Self != "n1" {
		t.Fatalf("view %+v, %v; want self n1", v, err)
	}

	c.Stop(0) // graceful: exit status 0, or Stop fails the test
	if c.Running(0) || get(c.URL(0)+"/healthz") == nil {
		t.Fatal("n1 still answers after Stop")
	}
	url := c.URL(0)
	c.Start(0)
	if c.URL(0) != url {
		t.Errorf("restart moved n1 from %s to %s", url, c.URL(0))
	}
	c.WaitForMembers(t, 1, 30*time.Second)

	c.Kill(0)
	if get(c.URL(0)+"/healthz") == nil {
		t.Fatal("n1 still answers after Kill")
	}
	gossip := c.GossipAddr(0)
	c.StartOnNewPorts(0)
	if c.URL(0) == url || c.GossipAddr(0) == gossip {
		t.Errorf("StartOnNewPorts kept %s / %s", c.URL(0), c.GossipAddr(0))
	}
	c.WaitForMembers(t, 1, 30*time.Second)

	c.Pause(0)
	if err := getWithin(c.URL(0)+"/healthz", 300*time.Millisecond); err == nil {
		t.Fatal("a paused n1 answered")
	}
	c.Resume(0)
	if err := get(c.URL(0) + "/healthz"); err != nil {
		t.Fatalf("n1 after resume: %v", err)
	}
}

// TestNodesGetTheirOwnAddresses starts two nodes on one store: distinct names and
// ports, and the operator token guards /cluster on each.
func TestNodesGetTheirOwnAddresses(t *testing.T) {
	c := Start(t, Options{Nodes: 2, ExtraArgs: []string{"--log-level=debug"}})
	if c.URL(0) == c.URL(1) || c.GossipAddr(0) == c.GossipAddr(1) || c.PeerAddr(0) == c.PeerAddr(1) {
		t.Fatalf("shared addresses: %s %s, %s %s", c.URL(0), c.URL(1), c.GossipAddr(0), c.GossipAddr(1))
	}
	for i, name := range []string{"n1", "n2"} {
		if v, err := c.View(i); err != nil || v.Self != name {
			t.Errorf("node %d: view %+v, %v; want self %s", i, v, err, name)
		}
		resp, err := httpClient.Get(c.URL(i) + "/cluster")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: GET /cluster without the token: %s, want 401", name, resp.Status)
		}
	}
}

// TestClusterFlagsAreValidated runs the binary with bad cluster flags: each must
// exit with status 2 and name the flag, before touching any store.
func TestClusterFlagsAreValidated(t *testing.T) {
	bin := binary(t)
	for _, tc := range []struct{ args []string }{
		{[]string{"--gossip", "nope"}},
		{[]string{"--gossip", "example.com:7946"}}, // memberlist binds IPs only
		{[]string{"--gossip", "127.0.0.1:99999"}},
		{[]string{"--peer", "127.0.0.1"}},
		{[]string{"--advertise", "10.0.0.1:7946"}},
		{[]string{"--advertise", "http://x"}},
		{[]string{"--join", "10.0.0.1:x"}},
		{[]string{"--join", "a:7946,:7946"}},
		{[]string{"--join", "bad host"}},
		{[]string{"--cluster-key", "abcd"}},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = nodeEnv(nil)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.args[0]) {
			t.Errorf("chatd %v: %v, stderr %q; want exit status 2 naming %s", tc.args, err, stderr.String(), tc.args[0])
		}
	}
}

func get(url string) error { return getWithin(url, 2*time.Second) }

func getWithin(url string, d time.Duration) error {
	client := http.Client{Timeout: d}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
