package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// config is the node's command line: every flag also reads CHATD_<UPPER_SNAKE>
// (a flag given on the command line wins over the environment).
type config struct {
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
	LogFormat      string
	LogLevel       string
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
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")

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
	if c.ClusterKey != "" {
		k, err := hex.DecodeString(c.ClusterKey)
		if err != nil || (len(k) != 16 && len(k) != 24 && len(k) != 32) {
			return errors.New("--cluster-key must be 16, 24 or 32 bytes, hex-encoded")
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
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
