package clustertest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one run of a node.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited; err is then set
	err    error
}

// startProcess runs bin with its output appended to logPath, after a header line
// that marks the start in the log. The process gets SIGKILL if the test binary dies
// (Pdeathsig), and its own process group, so that SIGSTOP and a terminal's ^C reach
// only whom they are meant for.
func startProcess(bin string, args, env []string, logPath, header string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer f.Close() // the child has its own descriptor
	fmt.Fprintf(f, "=== %s %s: %s %s\n", time.Now().Format(time.RFC3339Nano), header, bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for the process to exit and reports whether it did.
func (p *process) waitExit(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *process) signal(sig syscall.Signal) error {
	if p.hasExited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !p.hasExited() {
		return fmt.Errorf("send %v: %w", sig, err)
	}
	return nil
}

// stopped reports whether the process is stopped by a signal (state T in
// /proc/<pid>/stat).
func (p *process) stopped() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'T' || b[i+2] == 't'
	}
	return false
}

// portSet hands out free loopback ports, never the same one twice to one cluster.
type portSet map[int]bool

// take returns a port that is free right now for TCP, and for UDP too when udp is
// set (gossip uses both). Another process may still take it before the node binds
// it; that node then fails to start, with "address already in use" in its log.
func (s portSet) take(udp bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := !s[port]
		if ok && udp {
			u, err := net.ListenPacket("udp", l.Addr().String())
			if ok = err == nil; ok {
				u.Close()
			}
		}
		l.Close()
		if ok {
			s[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port after 50 tries")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// logTail returns the last lines of a log file.
func logTail(path string, lines int) string {
	const maxBytes = 64 << 10
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	all := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
