package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
)

// WorkerHandle is a started worker: its input (the plan, then commands), its output
// (JSON lines) and a way to wait for its end (Wait may be called more than once).
type WorkerHandle struct {
	In   io.WriteCloser
	Out  io.ReadCloser
	Wait func() error
	// InProcess marks a worker that shares this process (and its CPU account).
	InProcess bool
}

// Spawner starts worker number index.
type Spawner func(ctx context.Context, index int) (*WorkerHandle, error)

// InProcess runs workers as goroutines of this process, over pipes: the same
// protocol as worker processes, so one code path serves both and the tests exercise
// the split without spawning binaries.
func InProcess(log *slog.Logger) Spawner {
	return func(_ context.Context, index int) (*WorkerHandle, error) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan error, 1)
		go func() {
			// The worker's context is not the run's: a stop arrives as a command, so
			// that the worker drains and reports instead of being cut off.
			err := RunWorker(context.Background(), inR, outW, log)
			outW.CloseWithError(err)
			inR.Close()
			done <- err
		}()
		wait := sync.OnceValue(func() error { return <-done })
		return &WorkerHandle{In: inW, Out: outR, Wait: wait, InProcess: true}, nil
	}
}

// Exec starts each worker as a child process running path with args (this binary
// with --worker). Its log goes to this process's stderr.
func Exec(path string, args ...string) Spawner {
	return func(_ context.Context, index int) (*WorkerHandle, error) {
		cmd := exec.Command(path, args...)
		cmd.Stderr = os.Stderr
		cmd.Env = append(os.Environ(), fmt.Sprintf("CHATLOAD_WORKER=%d", index))
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("loadtest: worker %d stdin: %w", index, err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("loadtest: worker %d stdout: %w", index, err)
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("loadtest: start worker %d: %w", index, err)
		}
		return &WorkerHandle{In: in, Out: out, Wait: sync.OnceValue(cmd.Wait)}, nil
	}
}

// SelfExec re-executes the running binary with --worker: cmd/chatload's hidden mode.
func SelfExec() (Spawner, error) {
	path, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("loadtest: find own executable for worker processes: %w", err)
	}
	return Exec(path, "--worker"), nil
}
