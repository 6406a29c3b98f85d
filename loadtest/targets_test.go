package loadtest

import (
	"context"
	"errors"
	"net"
	"testing"
)

// fakeResolver answers from a table; unknown names fail.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

var testHosts = fakeResolver{
	"localhost": {"127.0.0.1", "::1"},
	"v6only":    {"::1"},
	"mixed":     {"127.0.0.1", "10.0.0.7"},
	"remote":    {"203.0.113.9"},
}

func TestParseTargets(t *testing.T) {
	ctx := context.Background()
	ts, err := parseTargets(ctx, " http://127.0.0.1:8080/, https://localhost:9090 ,,http://127.0.0.2:1", false, testHosts)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{URL: "http://127.0.0.1:8080", Loopback: true, IPv4Loopback: true},
		{URL: "https://localhost:9090", Loopback: true},
		{URL: "http://127.0.0.2:1", Loopback: true, IPv4Loopback: true},
	}
	if len(ts) != len(want) {
		t.Fatalf("got %+v", ts)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, ts[i], want[i])
		}
	}
}

func TestLoopbackGuard(t *testing.T) {
	ctx := context.Background()
	for _, list := range []string{"http://203.0.113.9:80", "http://remote:80", "http://mixed:80", "http://127.0.0.1:1,http://10.1.1.1:2"} {
		if _, err := parseTargets(ctx, list, false, testHosts); !errors.Is(err, ErrRemoteTarget) {
			t.Errorf("%s: err %v, want ErrRemoteTarget", list, err)
		}
		if _, err := parseTargets(ctx, list, true, testHosts); err != nil {
			t.Errorf("%s with allowRemote: %v", list, err)
		}
	}
	ts, err := parseTargets(ctx, "http://[::1]:8080,http://v6only:1", false, testHosts)
	if err != nil || !ts[0].Loopback || ts[0].IPv4Loopback || !ts[1].Loopback {
		t.Fatalf("IPv6 loopback: %+v %v", ts, err)
	}
}

func TestParseTargetsRejects(t *testing.T) {
	for _, list := range []string{
		"", " , ", "127.0.0.1:8080", "ftp://127.0.0.1:1", "http://", "http://127.0.0.1:1/api",
		"http://127.0.0.1:1?x=1", "http://u:p@127.0.0.1:1", "http://nowhere:1", "http://127.0.0.1:1,http://127.0.0.1:1",
	} {
		if _, err := parseTargets(context.Background(), list, true, testHosts); err == nil {
			t.Errorf("%q: accepted", list)
		}
	}
}

func TestSourceAddrs(t *testing.T) {
	v4 := []Target{{URL: "a", Loopback: true, IPv4Loopback: true}}
	got := sourceAddrs(v4, 3)
	if len(got) != 3 || got[0].String() != "127.0.0.1" || got[2].String() != "127.0.0.3" {
		t.Fatalf("got %v", got)
	}
	if n := len(sourceAddrs(v4, 1000)); n != 254 {
		t.Fatalf("%d addresses, want at most 254", n)
	}
	if sourceAddrs(append(v4, Target{URL: "b", Loopback: true}), 3) != nil {
		t.Fatal("an IPv6 or named target must leave the source to the kernel")
	}
	if sourceAddrs(v4, 0) != nil {
		t.Fatal("0 sources means none")
	}
}
