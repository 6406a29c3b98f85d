package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is one node the load is spread over.
type Target struct {
	// URL is the node's base URL without a trailing slash, e.g. http://127.0.0.1:8080.
	URL string `json:"url"`
	// Loopback says every address the host resolves to is on the loopback network.
	Loopback bool `json:"loopback"`
	// IPv4Loopback says the host is an IPv4 loopback address, so that connections can
	// come from any source address of 127.0.0.0/8 (IPv6 has only ::1).
	IPv4Loopback bool `json:"ipv4_loopback"`
}

// ErrRemoteTarget is returned for a target outside loopback without AllowRemote:
// a load test aimed at the wrong host is an outage, so reaching out is opt-in.
var ErrRemoteTarget = errors.New("loadtest: target is not on loopback (pass --allow-remote to load a remote cluster)")

// resolver looks a host name up; net.DefaultResolver in production, a fake in tests.
type resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// ParseTargets parses a comma-separated list of http(s)://HOST:PORT base URLs and
// refuses any host that is not loopback unless allowRemote is set.
func ParseTargets(ctx context.Context, list string, allowRemote bool) ([]Target, error) {
	return parseTargets(ctx, list, allowRemote, net.DefaultResolver)
}

func parseTargets(ctx context.Context, list string, allowRemote bool, res resolver) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		t, err := parseTarget(ctx, raw, res)
		if err != nil {
			return nil, err
		}
		if !t.Loopback && !allowRemote {
			return nil, fmt.Errorf("%w: %s", ErrRemoteTarget, t.URL)
		}
		if seen[t.URL] {
			return nil, fmt.Errorf("loadtest: target %s given twice", t.URL)
		}
		seen[t.URL] = true
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("loadtest: no target (--target http://HOST:PORT[,...])")
	}
	return out, nil
}

func parseTarget(ctx context.Context, raw string, res resolver) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("loadtest: target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Target{}, fmt.Errorf("loadtest: target %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Target{}, fmt.Errorf("loadtest: target %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Target{}, fmt.Errorf("loadtest: target %q: give only scheme://host:port", raw)
	}
	t := Target{URL: u.Scheme + "://" + u.Host}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := res.LookupIPAddr(ctx, host)
		if err != nil {
			return Target{}, fmt.Errorf("loadtest: target %q: resolve: %w", raw, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	t.Loopback = len(ips) > 0
	t.IPv4Loopback = len(ips) > 0
	for _, ip := range ips {
		if !ip.IsLoopback() {
			t.Loopback = false
		}
		if ip.To4() == nil || !ip.IsLoopback() {
			t.IPv4Loopback = false
		}
	}
	return t, nil
}

// sourceAddrs returns n source addresses 127.0.0.1 .. 127.0.0.n when every target is
// an IPv4 loopback address, else nil (the kernel picks). Spreading sources raises
// two ceilings: the ~28k ephemeral ports of one source address, and the server's
// per-IP connection cap (--max-conns-per-ip, 10,000 by default).
func sourceAddrs(targets []Target, n int) []net.IP {
	if n <= 0 {
		return nil
	}
	for _, t := range targets {
		if !t.IPv4Loopback {
			return nil
		}
	}
	n = min(n, 254)
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, 0, byte(i+1))
	}
	return out
}
