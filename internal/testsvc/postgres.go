package testsvc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvPostgresURL names the environment variable that points the harness at an
// existing Postgres server (a URL whose user may CREATE DATABASE) instead of
// starting one. Each PostgresURL call still gets a fresh database on it.
const EnvPostgresURL = "CHATD_TEST_POSTGRES_URL"

const pgInstallHint = "install the Debian package `postgresql` (apt-get install postgresql), or set " + EnvPostgresURL

// pgBinGlob is where Debian installs each PostgreSQL version's server binaries; a
// variable so that tests can point it elsewhere.
var pgBinGlob = "/usr/lib/postgresql/*/bin"

var (
	pgOnce sync.Once
	pgSrv  *pgServer
	pgErr  error
)

// pgServer is the shared Postgres server of this test binary: ours (a throwaway
// cluster) or the one named by EnvPostgresURL.
type pgServer struct {
	base  *url.URL      // connection URL; its path is replaced per database
	admin *pgxpool.Pool // connected to the maintenance database, for CREATE/DROP DATABASE
	proc  *proc         // nil for an external server
}

// PostgresURL returns the URL of a fresh, empty database that only this test uses,
// on a Postgres server shared by the test binary (started on first use). The
// database is dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	pgOnce.Do(func() { pgSrv, pgErr = startPostgresServer() })
	if pgErr != nil {
		fail(tb, pgErr)
	}
	s := pgSrv
	name := "chatd_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("testsvc: create database %s: %v%s", name, err, s.logTail())
	}
	tb.Cleanup(func() { s.drop(tb, name) })
	u := *s.base
	u.Path = "/" + name
	return u.String()
}

func (s *pgServer) logTail() string {
	if s.proc == nil {
		return ""
	}
	return logTail(s.proc.logPath)
}

// drop removes a test's database. Connections the test left open are terminated
// (FORCE), so a leaked pool cannot make the drop, or the next test, hang.
func (s *pgServer) drop(tb testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
	if _, err := s.admin.Exec(ctx, q+" WITH (FORCE)"); err != nil {
		// Servers before 13 have no FORCE; try without before giving up.
		if _, err2 := s.admin.Exec(ctx, q); err2 != nil {
			tb.Logf("testsvc: drop database %s: %v", name, err)
		}
	}
}

func startPostgresServer() (*pgServer, error) {
	if raw := os.Getenv(EnvPostgresURL); raw != "" {
		return externalPostgres(raw)
	}
	bin, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a new port when another process took ours
		s, err := startPostgresCluster(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "ddress already in use") {
			break
		}
	}
	return nil, lastErr
}

func externalPostgres(raw string) (*pgServer, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL (got %q)", EnvPostgresURL, raw)
	}
	admin, err := connectAdmin(u)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", EnvPostgresURL, err)
	}
	return &pgServer{base: u, admin: admin}, nil
}

func connectAdmin(u *url.URL) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse postgres URL: %w", err)
	}
	cfg.MaxConns = 2
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open admin pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	atStop(pool.Close)
	return pool, nil
}

// findPostgresBin returns the directory holding initdb and postgres: the newest
// /usr/lib/postgresql/<version>/bin (Debian's layout), else the one on PATH.
func findPostgresBin() (string, error) {
	dirs, _ := filepath.Glob(pgBinGlob)
	slices.SortFunc(dirs, func(a, b string) int { // newest version first
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", &unavailableError{"PostgreSQL server binaries (initdb, postgres) not found under " +
		pgBinGlob + " or on PATH: " + pgInstallHint}
}

// compareVersions orders dotted numeric versions ("9.6" < "15").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// pgCredential returns the credential to run the server with: none normally, the
// `postgres` OS user when running as root (initdb and postgres refuse root).
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, &unavailableError{"running as root, and initdb refuses root, but there is no `postgres` " +
			"OS user to run the server as: " + pgInstallHint + " (it creates the user)"}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("parse ids of user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// startPostgresCluster runs initdb into a fresh temp dir and starts postgres on a
// free loopback port, tuned for throwaway data (no fsync, no full-page writes).
func startPostgresCluster(bin string) (*pgServer, error) {
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("chatd-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	if err := initdb(bin, dir, data, cred); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := startProc("postgres", filepath.Join(dir, "postgres.log"), dir, cred, syscall.SIGQUIT,
		filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=300", "-c", "max_parallel_workers_per_gather=0",
		"-c", "log_min_messages=warning", "-c", "log_min_error_statement=panic")
	if err != nil {
		return nil, err
	}
	// SIGINT is the fast shutdown: abort sessions, exit without waiting for clients.
	atStop(func() { p.stop(syscall.SIGINT, 15*time.Second) })
	u := &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", port),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	err = p.waitReady(func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, u.String())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		p.stop(syscall.SIGINT, 5*time.Second)
		return nil, err
	}
	admin, err := connectAdmin(u)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w%s", err, logTail(p.logPath))
	}
	return &pgServer{base: u, admin: admin, proc: p}, nil
}

// initdb creates the cluster. It prefers a UTF-8 character type, so that lower()
// and case-insensitive matching handle non-ASCII text as production servers do,
// and falls back to plain C where that locale is missing.
func initdb(bin, dir, data string, cred *syscall.Credential) error {
	logPath := filepath.Join(dir, "initdb.log")
	var errs []error
	for _, ctype := range []string{"C.UTF-8", "C"} {
		_ = os.RemoveAll(data)
		cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
			"-E", "UTF8", "--lc-collate=C", "--lc-ctype="+ctype, "--no-sync", "--no-instructions")
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(logPath, out, 0o644)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("initdb (lc_ctype %s): %w%s", ctype, err, logTail(logPath)))
	}
	return errors.Join(errs...)
}
