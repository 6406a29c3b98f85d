package testsvc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func TestPostgresURLGivesFreshDatabases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := PostgresURL(t), PostgresURL(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	for _, u := range []string{a, b} {
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connect %s: %v", u, err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d tables in a fresh database", u, n)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		_ = c.Close(ctx)
	}
}

func TestRedisURLGivesDistinctFlushedDatabases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := map[string]bool{}
	// More than one server's worth, to exercise starting another server; an
	// external server has just its 16.
	n := redisDBs + 2
	if os.Getenv(EnvRedisURL) != "" {
		n = redisDBs
	}
	for i := 0; i < n; i++ {
		u := RedisURL(t)
		if seen[u] {
			t.Fatalf("database %s handed out twice", u)
		}
		seen[u] = true
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opts)
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
			t.Fatalf("%s: dbsize %d, %v; want an empty database", u, n, err)
		}
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{{"15", "9.6", 1}, {"9.6", "15", -1}, {"16", "16", 0}, {"17", "16", 1}} {
		got := compareVersions(tc.a, tc.b)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.sign)
		}
	}
}

// TestMissingBinariesNameTheirPackage checks that a machine without the servers gets
// told exactly which Debian package to install (and that the error is the kind that
// skips outside CI).
func TestMissingBinariesNameTheirPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	oldPG, oldRedis := pgBinGlob, redisPath
	t.Cleanup(func() { pgBinGlob, redisPath = oldPG, oldRedis })
	pgBinGlob, redisPath = filepath.Join(t.TempDir(), "*", "bin"), filepath.Join(t.TempDir(), "redis-server")
	for name, find := range map[string]func() (string, error){"`postgresql`": findPostgresBin, "`redis-server`": findRedis} {
		_, err := find()
		var u *unavailableError
		if !errors.As(err, &u) || !strings.Contains(u.msg, "Debian package "+name) {
			t.Errorf("missing binary: err %v, want an unavailableError naming %s", err, name)
		}
	}
}
