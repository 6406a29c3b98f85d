package persist

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testsvc"
)

// openTestRedis connects to a Redis database of the test harness (one per call,
// empty) and closes the client at the end of the test.
func openTestRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	return openRedisURL(tb, testsvc.RedisURL(tb))
}

// openRedisURL opens one more client to url, closed at the end of the test.
func openRedisURL(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := OpenRedis(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisRateLimiter(t *testing.T) {
	rateLimiterSuite(t, NewRedisRateLimiter(openTestRedis(t)))
}

// TestRedisRateLimiterClusterWide plays two nodes, each with its own client and
// limiter over one Redis: they share one count per key.
func TestRedisRateLimiterClusterWide(t *testing.T) {
	ctx := context.Background()
	url := testsvc.RedisURL(t)
	a := NewRedisRateLimiter(openRedisURL(t, url))
	b := NewRedisRateLimiter(openRedisURL(t, url))
	key := fmt.Sprintf("test:%d:%s", time.Now().UnixNano(), t.Name())
	const limit, window = 10, time.Minute

	mustAllow(t, a, key, limit, window, 5)
	mustAllow(t, b, key, limit, window, 5)
	mustRefuse(t, a, key, limit, window)
	mustRefuse(t, b, key, limit, window)

	// Both nodes at once, on a fresh key: still exactly limit through.
	key2 := key + ":concurrent"
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		l := a
		if g%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 10 {
				ok, _, err := l.Allow(ctx, key2, limit, window)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != limit {
		t.Fatalf("%d allowed across two nodes, want exactly %d", n, limit)
	}
}

// TestRedisRateLimiterKeys looks at what the script leaves in Redis: one member per
// counted event (none for refused attempts), scored by Redis' own clock, and a key
// that expires one window after its last event.
func TestRedisRateLimiterKeys(t *testing.T) {
	ctx := context.Background()
	c := openTestRedis(t)
	l := NewRedisRateLimiter(c)
	key := fmt.Sprintf("test:%d:%s", time.Now().UnixNano(), t.Name())
	rkey := redisRateKeyPrefix + key
	const limit, window = 3, 30 * time.Second

	mustAllow(t, l, key, limit, window, limit)
	for range 10 {
		mustRefuse(t, l, key, limit, window)
	}
	if n, err := c.ZCard(ctx, rkey).Result(); err != nil || n != limit {
		t.Fatalf("ZCARD = %d, %v; want %d (refused attempts write nothing)", n, err, limit)
	}
	ttl, err := c.PTTL(ctx, rkey).Result()
	if err != nil || ttl <= window-5*time.Second || ttl > window {
		t.Fatalf("PTTL = %v, %v; want about %v", ttl, err, window)
	}
	now, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	scores, err := c.ZRangeWithScores(ctx, rkey, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range scores {
		at := time.UnixMicro(int64(z.Score))
		if d := now.Sub(at); d < 0 || d > 5*time.Second {
			t.Errorf("member %v scored %v, %v before Redis' TIME: want Redis' clock", z.Member, at, d)
		}
	}
}

// TestRedisRateLimiterRedisDown: when Redis cannot answer, Allow says so with an
// error and does not claim the event was allowed.
func TestRedisRateLimiterRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, _, err := NewRedisRateLimiter(c).Allow(ctx, "anyone", 10, 10*time.Second)
	if err == nil || ok {
		t.Fatalf("Allow with Redis down: ok=%v err=%v, want an error", ok, err)
	}
	if !strings.HasPrefix(err.Error(), "persist: redis rate limit:") {
		t.Errorf("error %q does not say where it came from", err)
	}
}

func TestOpenRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := OpenRedis(ctx, testsvc.RedisURL(t))
	if err != nil {
		t.Fatalf("OpenRedis(harness URL): %v", err)
	}
	if o := c.Options(); o.DialTimeout != redisDialTimeout || o.ReadTimeout != redisIOTimeout ||
		o.WriteTimeout != redisIOTimeout || o.MaxRetries != redisMaxRetries || o.DialerRetries != redisDialerRetries {
		t.Errorf("timeouts dial %v read %v write %v, retries %d, dial attempts %d: want OpenRedis' defaults",
			o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries, o.DialerRetries)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// What the URL sets wins over the defaults.
	c, err = OpenRedis(ctx, testsvc.RedisURL(t)+"?read_timeout=3s&max_retries=4")
	if err != nil {
		t.Fatalf("OpenRedis(URL with options): %v", err)
	}
	if o := c.Options(); o.ReadTimeout != 3*time.Second || o.MaxRetries != 4 {
		t.Errorf("read timeout %v, retries %d: want the URL's 3s and 4", o.ReadTimeout, o.MaxRetries)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()

	for _, tc := range []struct {
		name, url, want string
	}{
		{"bad scheme", "http://user:hunter22@localhost:6379/0", "invalid URL scheme"},
		{"bad escape", "redis://user:hunter22@localhost:6379/%zz", "invalid URL escape"},
		{"bad database", "redis://user:hunter22@localhost:6379/notanumber", "invalid database"},
		{"nothing listening", "redis://user:hunter22@" + closed + "/0", "ping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenRedis(ctx, tc.url)
			if err == nil {
				_ = c.Close()
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func BenchmarkRedisRateLimiter(b *testing.B) {
	l := NewRedisRateLimiter(openTestRedis(b))
	ctx := context.Background()
	prefix := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%suser:%d", prefix, i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := l.Allow(ctx, keys[i%len(keys)], 10, 10*time.Second); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
