package testsvc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a server may take to answer after it was started.
// Generous because CI machines are slow and shared, but finite so a wedged server
// fails the test with its log instead of hanging until the test binary's timeout.
const readyTimeout = 60 * time.Second

var (
	mainCalled atomic.Bool

	stopMu   sync.Mutex
	stoppers []func()
	stopped  bool
)

// Main runs the package's tests, then stops every server this package started and
// removes their temporary directories, then exits with the tests' code. Call it from
// TestMain; PostgresURL and RedisURL refuse to start servers without it, because
// nothing else would stop them.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	stopAll()
	os.Exit(code)
}

// atStop registers f to run when Main stops the servers, in reverse order of
// registration (a server stops before its directory is removed).
func atStop(f func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stoppers = append(stoppers, f)
}

func stopAll() {
	stopMu.Lock()
	fs := stoppers
	stoppers, stopped = nil, true
	stopMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func requireMain(tb testing.TB) {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatalf("testsvc: add `func TestMain(m *testing.M) { testsvc.Main(m) }` to this package: " +
			"it stops the servers the tests start")
	}
	stopMu.Lock()
	s := stopped
	stopMu.Unlock()
	if s {
		tb.Fatalf("testsvc: servers were already stopped (a goroutine outlived the tests?)")
	}
}

// unavailableError says a server cannot be started on this machine at all (its
// binary is missing), as opposed to a server that failed. Tests skip on it unless
// running in CI.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

// fail reports a start failure: skip (or fatal in CI) when the service is unavailable
// here, fatal otherwise.
func fail(tb testing.TB, err error) {
	tb.Helper()
	var u *unavailableError
	if errors.As(err, &u) {
		if os.Getenv("CI") != "" {
			tb.Fatalf("testsvc: %s (failing instead of skipping because CI is set)", u.msg)
		}
		tb.Skipf("testsvc: %s", u.msg)
	}
	tb.Fatalf("testsvc: %v", err)
}

// tempDir makes a directory that Main removes after the servers are stopped.
func tempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("make temp dir: %w", err)
	}
	atStop(func() { _ = os.RemoveAll(dir) })
	return dir, nil
}

// freePort asks the kernel for a free TCP port on the loopback interface. Another
// process may take it before the server binds it; callers retry on "address in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// proc is a server process started by the harness, with its output in a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited; waitErr is then set
	waitErr error
}

// startProc starts bin with args, output appended to logPath. cred (optional) runs
// it as another user; deathSig is sent to it if this test binary dies first.
func startProc(name, logPath, dir string, cred *syscall.Credential, deathSig syscall.Signal, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: deathSig, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig, waits up to grace for the process to exit, then kills it.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitReady polls probe until it succeeds, the process exits, or readyTimeout passes.
// Errors carry the last probe error and the tail of the server's log.
func (p *proc) waitReady(probe func(ctx context.Context) error) error {
	deadline := time.Now().Add(readyTimeout)
	delay := 5 * time.Millisecond
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = probe(ctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready (%v); last probe: %v%s", p.name, p.waitErr, last, logTail(p.logPath))
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v; last probe: %v%s", p.name, readyTimeout, last, logTail(p.logPath))
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// logTail returns the last lines of a log file, formatted to append to an error.
func logTail(path string) string {
	const maxBytes, maxLines = 8 << 10, 40
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("\n(no log at %s: %v)", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Sprintf("\n(log %s is empty)", path)
	}
	return fmt.Sprintf("\n--- tail of %s ---\n%s\n---", path, strings.Join(lines, "\n"))
}
