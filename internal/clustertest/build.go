package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// raceEnabled is set by race.go when the tests are built with -race; the chatd
// binary then gets the race detector too, so fault tests catch races in the nodes.
var raceEnabled bool

var build struct {
	once sync.Once
	path string
	err  error
}

// binary returns the path of a chatd built from this module, building it on first use.
func binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() { build.path, build.err = buildChatd() })
	if build.err != nil {
		tb.Fatalf("clustertest: %v", build.err)
	}
	return build.path
}

func buildChatd() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "chatd")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/chatd")...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/chatd: %w\n%s", err, b)
	}
	return out, nil
}

// moduleRoot asks the go command where this module's go.mod is (tests run in their
// package's directory, inside the module).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module (go env GOMOD says %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// binDir picks where the binary goes. `go test` runs the test binary from its own
// work directory ($WORK/b001/) and removes that afterwards, so the binary put next to
// it leaves nothing behind. A test binary run some other way (go test -c) gets a
// temporary directory, which stays: there is no hook to remove it at exit.
func binDir() (string, error) {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		if strings.HasPrefix(filepath.Base(filepath.Dir(dir)), "go-build") {
			return dir, nil
		}
	}
	dir, err := os.MkdirTemp("", "chatd-clustertest-")
	if err != nil {
		return "", fmt.Errorf("make a directory for the chatd binary: %w", err)
	}
	return dir, nil
}
