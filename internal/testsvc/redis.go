package testsvc

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvRedisURL names the environment variable that points the harness at an existing
// Redis server instead of starting one. Tests then share its 16 logical databases,
// each flushed before it is handed out.
const EnvRedisURL = "CHATD_TEST_REDIS_URL"

const (
	redisInstallHint = "install the Debian package `redis-server` (apt-get install redis-server), or set " + EnvRedisURL
	// redisDBs is how many logical databases a server has: Redis's default, which an
	// external server most likely keeps.
	redisDBs = 16
	// redisWait bounds how long a test waits for a logical database of an external
	// server held by other tests.
	redisWait = 2 * time.Minute
)

// redisSlot is one logical database of one server.
type redisSlot struct {
	base *url.URL // the server's URL, without a database number
	db   int
}

// redisPool hands out logical databases, each to one test at a time. With our own
// servers it starts another redis-server when all databases are in use; with an
// external server, tests wait for one to be released.
var redisPool struct {
	mu       sync.Mutex
	free     []redisSlot
	started  bool
	external bool
	err      error
	released chan struct{} // closed and replaced whenever a slot is released
}

// RedisURL returns the URL of a flushed logical database that only this test uses
// until it ends, on a redis-server started by the harness (no persistence) or the
// one named by EnvRedisURL.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	slot, err := acquireRedis()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(func() { releaseRedis(slot) })
	u := *slot.base
	u.Path = "/" + strconv.Itoa(slot.db)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := flushRedis(ctx, u.String()); err != nil {
		tb.Fatalf("testsvc: flush redis database %d: %v", slot.db, err)
	}
	return u.String()
}

func acquireRedis() (redisSlot, error) {
	deadline := time.Now().Add(redisWait)
	p := &redisPool
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		p.started = true
		p.released = make(chan struct{})
		if raw := os.Getenv(EnvRedisURL); raw != "" {
			p.external = true
			p.err = addExternalRedis(raw)
		}
	}
	for {
		if p.err != nil {
			return redisSlot{}, p.err
		}
		if n := len(p.free); n > 0 {
			s := p.free[n-1]
			p.free = p.free[:n-1]
			return s, nil
		}
		if !p.external {
			if err := startRedisServer(); err != nil {
				return redisSlot{}, err // not sticky: a later test may try again
			}
			continue
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return redisSlot{}, fmt.Errorf("all %d databases of %s stayed in use for %v", redisDBs, EnvRedisURL, redisWait)
		}
		ch := p.released
		p.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(wait):
		}
		p.mu.Lock()
	}
}

func releaseRedis(s redisSlot) {
	p := &redisPool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, s)
	close(p.released)
	p.released = make(chan struct{})
}

// addExternalRedis offers the databases of the server at raw. Called with the pool
// locked.
func addExternalRedis(raw string) error {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvRedisURL, err)
	}
	u, _ := url.Parse(raw) // ParseURL succeeded, so this does too
	u.Path = ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping %s: %w", EnvRedisURL, err)
	}
	addSlots(u)
	return nil
}

// addSlots offers databases 0..redisDBs-1 of the server at base, lowest first.
func addSlots(base *url.URL) {
	for db := redisDBs - 1; db >= 0; db-- {
		redisPool.free = append(redisPool.free, redisSlot{base: base, db: db})
	}
}

// redisPath is where Debian's redis-server package installs the server; a variable
// so that tests can point it elsewhere.
var redisPath = "/usr/bin/redis-server"

func findRedis() (string, error) {
	if isExecutable(redisPath) {
		return redisPath, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	return "", &unavailableError{"redis-server not found at " + redisPath + " or on PATH: " + redisInstallHint}
}

// startRedisServer starts one more redis-server without persistence and offers its
// databases. Called with the pool locked.
func startRedisServer() error {
	bin, err := findRedis()
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a new port when another process took ours
		u, err := startRedisOnce(bin)
		if err == nil {
			addSlots(u)
			return nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "ddress already in use") {
			break
		}
	}
	return lastErr
}

func startRedisOnce(bin string) (*url.URL, error) {
	dir, err := tempDir("chatd-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := runRedis(bin, dir, port)
	if err != nil {
		return nil, err
	}
	atStop(func() { p.stop(syscall.SIGTERM, 10*time.Second) })
	return &url.URL{Scheme: "redis", Host: fmt.Sprintf("127.0.0.1:%d", port)}, nil
}

// runRedis starts redis-server without persistence on port and waits until it
// answers.
func runRedis(bin, dir string, port int) (*proc, error) {
	p, err := startProc("redis-server", filepath.Join(dir, "redis.log"), dir, nil, syscall.SIGKILL, bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--databases", strconv.Itoa(redisDBs),
		"--daemonize", "no", "--logfile", "", "--loglevel", "warning")
	if err != nil {
		return nil, err
	}
	err = p.waitReady(func(ctx context.Context) error {
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialTimeout: time.Second})
		defer c.Close()
		return c.Ping(ctx).Err()
	})
	if err != nil {
		p.stop(syscall.SIGKILL, time.Second)
		return nil, err
	}
	return p, nil
}

// Redis is a redis-server of one test's own, for tests that kill it and start it
// again (RELIABILITY.md fault 9). It keeps nothing on disk, so a restart is empty.
type Redis struct {
	// URL is its address, the same across restarts.
	URL  string
	bin  string
	dir  string
	port int
	proc *proc // nil while killed
}

// NewRedis starts a Redis server of the test's own, stopped when the test ends.
func NewRedis(tb testing.TB) *Redis {
	tb.Helper()
	requireMain(tb)
	r, err := startOwnRedis()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(r.Kill)
	return r
}

func startOwnRedis() (*Redis, error) {
	bin, err := findRedis()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("chatd-redis-own-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), bin: bin, dir: dir, port: port}
	if r.proc, err = runRedis(bin, dir, port); err != nil {
		return nil, err
	}
	return r, nil
}

// Kill SIGKILLs the server and waits for it to exit; a no-op when it is down.
func (r *Redis) Kill() {
	if r.proc != nil {
		r.proc.stop(syscall.SIGKILL, 10*time.Second)
		r.proc = nil
	}
}

// Restart starts the server again on the same port, empty (after Kill).
func (r *Redis) Restart(tb testing.TB) {
	tb.Helper()
	r.Kill()
	p, err := runRedis(r.bin, r.dir, r.port)
	if err != nil {
		tb.Fatalf("testsvc: restart redis on port %d: %v", r.port, err)
	}
	r.proc = p
}

func flushRedis(ctx context.Context, rawURL string) error {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	return c.FlushDB(ctx).Err()
}
