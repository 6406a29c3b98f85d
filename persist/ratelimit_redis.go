package persist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisRateKeyPrefix namespaces the limiter's keys in a Redis that may be shared.
const redisRateKeyPrefix = "chatd:ratelimit:"

// allowScript is the whole decision, run atomically by Redis: no other command on the
// key can slip between the count and the add, so concurrent senders on any number of
// nodes never get more than limit events through.
//
// Times come from Redis' TIME, in microseconds, never from the caller: nodes whose
// clocks disagree still count the same window. Each counted event is a member of the
// key's sorted set, scored by its time; the member is unique (ARGV[3]) so two events
// in one microsecond are two members. The key expires one window after its last
// counted event, when it would be empty anyway. A refused attempt writes nothing.
//
// KEYS[1]: the sorted set. ARGV[1]: limit. ARGV[2]: window in microseconds.
// ARGV[3]: a member unique to this attempt.
// Returns {1, 0} when counted, {0, microseconds until a slot frees} when refused.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`)

// NewRedisRateLimiter returns a RateLimiter whose counters live in Redis, shared by
// every node that uses the same Redis: the cluster-wide limit of the contract. Each
// Allow is one round trip (EVALSHA of a small Lua script) and one key per limited
// key, which Redis expires on its own. It needs Redis 5 or newer (scripts that read
// TIME and then write).
//
// Nothing in these keys is needed to recover messages: a Redis restarted empty only
// forgets the recent counts, and for one window senders may send up to the limit
// again.
func NewRedisRateLimiter(client *redis.Client) RateLimiter {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on a broken source)
	return &redisRateLimiter{client: client, nonce: hex.EncodeToString(b[:]) + "."}
}

type redisRateLimiter struct {
	client *redis.Client
	// nonce is random per limiter, and seq counts its attempts: together they make
	// each attempt's member unique across every node sharing the Redis.
	nonce string
	seq   atomic.Uint64
}

// Allow implements RateLimiter.
func (l *redisRateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := checkLimitArgs(limit, window); err != nil {
		return false, 0, err
	}
	member := strconv.AppendUint([]byte(l.nonce), l.seq.Add(1), 36)
	windowUs := max(window.Microseconds(), 1)
	res, err := allowScript.Run(ctx, l.client, []string{redisRateKeyPrefix + key},
		limit, windowUs, member).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("persist: redis rate limit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("persist: redis rate limit: unexpected script reply %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, clampRetry(time.Duration(res[1])*time.Microsecond, window), nil
}

// Refund implements RateLimiter: ZPOPMAX removes the newest counted event (a
// missing key is a no-op).
func (l *redisRateLimiter) Refund(ctx context.Context, key string) error {
	if err := l.client.ZPopMax(ctx, redisRateKeyPrefix+key, 1).Err(); err != nil {
		return fmt.Errorf("persist: redis rate limit refund: %w", err)
	}
	return nil
}
