package persist

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPingTimeout bounds the first ping of OpenRedis when the caller's context has
// no earlier deadline: a node should fail its start quickly and say why, not hang on
// an address that does not answer.
const redisPingTimeout = 5 * time.Second

// Defaults for what the URL leaves unset. Redis sits on the send path (the rate
// limit), where a Redis that hangs must cost a send about a second, not go-redis'
// defaults (5 s to dial, 5 s to read, 3 retries: up to 20 s). Redis answers these
// commands in well under a millisecond, so the margins are wide. One retry still
// covers a pooled connection that went stale when Redis restarted. A dial is tried
// once per command attempt: go-redis otherwise dials 5 times with backoff, so a
// Redis that refuses connections (killed, restarting) cost every send ~0.8 s, and
// one that does not answer 10 s a dial.
const (
	redisDialTimeout   = 2 * time.Second
	redisIOTimeout     = time.Second
	redisMaxRetries    = 1
	redisDialerRetries = 1
)

// OpenRedis connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix:///path/to/socket, with go-redis' query options) and
// checks that it answers. The client keeps a pool and reconnects by itself; the caller
// closes it.
//
// Timeouts default to 2 s to dial and 1 s to read or write, with one retry; the
// URL's query overrides them (?dial_timeout=5s&read_timeout=3s&max_retries=3).
//
// Errors never repeat the URL, which may carry a password.
func OpenRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the whole URL, password included
		}
		return nil, fmt.Errorf("persist: parse redis url: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisIOTimeout // WriteTimeout follows it unless set
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = redisMaxRetries
	}
	if opts.DialerRetries == 0 { // not settable by the URL
		opts.DialerRetries = redisDialerRetries
	}
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("persist: redis at %s: ping: %w", opts.Addr, err)
	}
	return client, nil
}
