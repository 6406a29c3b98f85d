package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/scan"
)

// config is the node's command line: every flag also reads CHATD_<UPPER_SNAKE>
// (a flag given on the command line wins over the environment).
type config struct {
	cluster clusterConfig // parsed by validate from the cluster flags

	Listen         string
	DataDir        string
	Name           string
	Gossip         string
	Peer           string
	Advertise      string
	Join           string
	ClusterKey     string
	OperatorToken  string
	PostgresURL    string
	RedisURL       string
	JWTSecret      string
	AllowedOrigins string
	S3Endpoint     string
	S3Bucket       string
	S3AccessKey    string
	S3SecretKey    string
	Clamd          string
	DebugListen    string
	LogFormat      string
	// AllowUnscanned lets a production node (--postgres-url) publish uploads
	// without a malware scanner; the embedded default always may.
	AllowUnscanned bool
	LogLevel       string

	MaxConnsPerUser int
	MaxConnsPerIP   int
	WSWriteDelay    time.Duration
	PresenceBeat    time.Duration
}

func parseConfig(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "chatd: a node of the chat cluster.\n\nUsage: chatd [flags]\n\nEvery flag can also be set as CHATD_<NAME> (e.g. CHATD_POSTGRES_URL).\n\n")
		fs.PrintDefaults()
	}
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, def, usage) }
	str(&c.Listen, "listen", ":8080", "HTTP and WebSocket address")
	str(&c.DataDir, "data-dir", "./data", "directory of the embedded store (used when no --postgres-url)")
	str(&c.Name, "name", "", "node name (default: host name)")
	str(&c.Gossip, "gossip", ":7946", "gossip (memberlist) bind address")
	str(&c.Peer, "peer", ":7947", "peer link address")
	str(&c.Advertise, "advertise", "", "host other nodes reach this node at")
	str(&c.Join, "join", "", "comma-separated gossip addresses of seed nodes")
	str(&c.ClusterKey, "cluster-key", "", "gossip and peer-link key: 16, 24 or 32 bytes, hex")
	str(&c.OperatorToken, "operator-token", "", "bearer token for /cluster (disabled when empty)")
	str(&c.PostgresURL, "postgres-url", "", "Postgres URL (default: the embedded store)")
	str(&c.RedisURL, "redis-url", "", "Redis URL for presence and rate limits (default: in memory)")
	str(&c.JWTSecret, "jwt-secret", "", "token signing secret, at least 32 bytes (default: random; tokens die at restart)")
	str(&c.AllowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the server's own")
	str(&c.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint for attachments")
	str(&c.S3Bucket, "s3-bucket", "", "S3 bucket")
	str(&c.S3AccessKey, "s3-access-key", "", "S3 access key")
	str(&c.S3SecretKey, "s3-secret-key", "", "S3 secret key")
	str(&c.Clamd, "clamd", "", "ClamAV daemon: tcp:HOST:PORT or unix:/path")
	str(&c.DebugListen, "debug-listen", "", "operator-only address for pprof and metrics, e.g. 127.0.0.1:6060 (off when empty)")
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&c.AllowUnscanned, "allow-unscanned-uploads", false,
		"with --postgres-url, publish uploads without --clamd (scan_status unscanned); refused by default")
	fs.IntVar(&c.MaxConnsPerUser, "max-conns-per-user", 100, "WebSocket connections one user may hold on this node")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 10000, "WebSocket connections one client IP may hold on this node")
	fs.DurationVar(&c.PresenceBeat, "presence-heartbeat", time.Minute,
		"how often presence entries and last_seen of connected users are renewed; also how soon presence recovers after Redis restarted empty (1s to under 5m)")
	fs.DurationVar(&c.WSWriteDelay, "ws-write-delay", 0,
		"let room events and presence wait up to this long to share a socket write with the next ones (e.g. 20ms): less CPU per delivery in busy rooms, that much more latency; 0 writes at once")

	set := map[string]bool{}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "CHATD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !set[f.Name] {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s: %w", env, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return errors.New("--jwt-secret must be at least 32 bytes")
	}
	if err := c.parseCluster(); err != nil {
		return err
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.PresenceBeat < time.Second || c.PresenceBeat >= chat.PresenceTTL {
		return fmt.Errorf("--presence-heartbeat must be from 1s to under %v, not %v", chat.PresenceTTL, c.PresenceBeat)
	}
	return c.validateAttachments()
}

// validateAttachments checks the scanner and blob flags: a production node
// (--postgres-url) needs --clamd unless --allow-unscanned-uploads says otherwise, and
// the S3 flags come together.
func (c *config) validateAttachments() error {
	if c.Clamd != "" {
		if _, _, err := scan.ParseAddress(c.Clamd); err != nil {
			return fmt.Errorf("--clamd: %w", err)
		}
	}
	if c.PostgresURL != "" && c.Clamd == "" && !c.AllowUnscanned {
		return errors.New("--postgres-url without --clamd: uploads would be published unscanned; " +
			"give --clamd (tcp:HOST:PORT or unix:/path), or --allow-unscanned-uploads to accept that")
	}
	anyS3 := c.S3Endpoint != "" || c.S3Bucket != "" || c.S3AccessKey != "" || c.S3SecretKey != ""
	if anyS3 && (c.S3Endpoint == "" || c.S3Bucket == "") {
		return errors.New("--s3-endpoint and --s3-bucket are both required for S3 storage")
	}
	return nil
}

// secret returns the JWT secret, or a random one (generated reports which).
func (c *config) secret() (secret []byte, generated bool) {
	if c.JWTSecret != "" {
		return []byte(c.JWTSecret), false
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return []byte(hex.EncodeToString(b)), true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// clusterConfig is the cluster part of the command line, parsed and checked: what
// node.StartMembership and the peer links need. Build the membership with
//
//	cc := cfg.clusterConfig()
//	node.StartMembership(node.MembershipConfig{
//		Name: cc.Name, Bind: cc.GossipBind, Advertise: cc.Advertise, Join: cc.Join, Key: cc.Key,
//		Meta: node.NodeMeta{PeerAddr: cc.PeerBind, HTTPAddr: cfg.Listen}, // empty hosts get the advertise IP
//		Registerer: reg, Log: log,
//	})
type clusterConfig struct {
	Name       string   // --name, or the host name
	GossipBind string   // --gossip: host:port, the host empty or an IP
	PeerBind   string   // --peer: host:port
	Advertise  string   // --advertise: a host (IP or DNS name), or empty
	Join       []string // --join: host:port each; a seed given without a port gets --gossip's port
	Key        []byte   // --cluster-key decoded; nil without one
}

// clusterConfig returns the cluster flags as validate parsed them.
func (c *config) clusterConfig() clusterConfig {
	cc := c.cluster
	cc.Join = slices.Clone(cc.Join)
	cc.Key = slices.Clone(cc.Key)
	return cc
}

// parseCluster checks the cluster flags and keeps their parsed form in c.cluster.
func (c *config) parseCluster() error {
	cc := clusterConfig{Name: c.Name, GossipBind: c.Gossip, PeerBind: c.Peer, Advertise: c.Advertise}
	if cc.Name == "" {
		cc.Name, _ = os.Hostname() // node.Config's default too
	}
	gossipHost, gossipPort, err := splitHostPort("--gossip", c.Gossip)
	if err != nil {
		return err
	}
	if gossipHost != "" && net.ParseIP(gossipHost) == nil {
		return fmt.Errorf("--gossip %q: the host must be an IP address or empty (all interfaces)", c.Gossip)
	}
	if _, _, err := splitHostPort("--peer", c.Peer); err != nil {
		return err
	}
	if err := checkHost(c.Advertise); err != nil {
		return fmt.Errorf("--advertise %q: %w", c.Advertise, err)
	}
	for _, s := range splitList(c.Join) {
		seed, err := parseSeed(s, gossipPort)
		if err != nil {
			return err
		}
		cc.Join = append(cc.Join, seed)
	}
	if c.ClusterKey != "" {
		k, err := hex.DecodeString(c.ClusterKey)
		if err != nil || (len(k) != 16 && len(k) != 24 && len(k) != 32) {
			return errors.New("--cluster-key must be 16, 24 or 32 bytes, hex-encoded")
		}
		cc.Key = k
	}
	c.cluster = cc
	return nil
}

// parseSeed checks one --join entry and returns it as host:port: a host alone gets
// this node's gossip port, the convention when every node gossips on the same port.
func parseSeed(seed, gossipPort string) (string, error) {
	if _, _, err := net.SplitHostPort(seed); err != nil {
		seed = net.JoinHostPort(strings.Trim(seed, "[]"), gossipPort)
	}
	host, port, err := splitHostPort("--join", seed)
	if err != nil {
		return "", err
	}
	if host == "" || port == "0" {
		return "", fmt.Errorf("--join %q: want host:port with a host and a port", seed)
	}
	if err := checkHost(host); err != nil {
		return "", fmt.Errorf("--join %q: %w", seed, err)
	}
	return seed, nil
}

// splitHostPort checks a flag's host:port (the host may be empty, the port 0-65535).
func splitHostPort(flag, addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%s %q: want host:port: %w", flag, addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", fmt.Errorf("%s %q: bad port %q", flag, addr, port)
	}
	return host, port, nil
}

// checkHost accepts an IP address or a DNS name, and nothing with a port or a scheme.
func checkHost(h string) error {
	if h == "" || net.ParseIP(h) != nil {
		return nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") ||
			strings.ContainsFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) {
			return errors.New("want a host: an IP address or a DNS name, without port")
		}
	}
	return nil
}
