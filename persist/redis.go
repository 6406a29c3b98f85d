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

// OpenRedis connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix:///path/to/socket, with go-redis' query options) and
// checks that it answers. The client keeps a pool and reconnects by itself; the caller
// closes it.
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
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("persist: redis at %s: ping: %w", opts.Addr, err)
	}
	return client, nil
}
