package scan_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testsvc"
	"github.com/chatd/chatd/scan"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

func newClient(t *testing.T, addr string) *scan.Client {
	t.Helper()
	c, err := scan.New(scan.Config{Address: addr, Timeout: 30 * time.Second, ChunkSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// zipOf zips the named files (deflated).
func zipOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ZipBomb returns a small zip that inflates past the daemon's MaxScanSize.
func zipBomb(t testing.TB) []byte {
	zeros := make([]byte, 10<<20)
	files := map[string][]byte{}
	for i := range 2 + int(testsvc.ClamdLimits.MaxScanSize/int64(len(zeros))) {
		files[filepath.Join("z", string(rune('a'+i))+".bin")] = zeros
	}
	return zipOf(t, files)
}

func TestScanVerdicts(t *testing.T) {
	c := newClient(t, testsvc.ClamdAddress(t))
	bomb := zipBomb(t)
	if len(bomb) > 1<<20 {
		t.Fatalf("zip bomb is %d bytes; it should be small", len(bomb))
	}
	tests := []struct {
		name string
		in   []byte
		want scan.Verdict
	}{
		{"empty", nil, scan.Clean},
		{"text", []byte("hello, world"), scan.Clean},
		{"eicar", testsvc.EICAR(), scan.Infected},
		{"zipped eicar", zipOf(t, map[string][]byte{"eicar.com": testsvc.EICAR()}), scan.Infected},
		{"marker", append([]byte("some words "), testsvc.MalwareMarker+" more"...), scan.Infected},
		{"marker across chunks", append(bytes.Repeat([]byte{'a'}, 4<<10-7), testsvc.MalwareMarker...), scan.Infected},
		{"clean zip", zipOf(t, map[string][]byte{"a.txt": []byte("fine")}), scan.Clean},
		{"zip bomb", bomb, scan.Unscannable},
		{"over stream limit", make([]byte, testsvc.ClamdLimits.StreamMaxLength+1), scan.Unscannable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Scan(context.Background(), bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.want {
				t.Fatalf("verdict %v (%q), want %v", res.Verdict, res.Signature, tt.want)
			}
		})
	}
}

func TestScanDaemonDown(t *testing.T) {
	d := testsvc.NewClamd(t)
	c := newClient(t, d.Address)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	for _, addr := range []string{d.Address, "unix:" + filepath.Join(t.TempDir(), "none.sock"), "tcp:127.0.0.1:1"} {
		_, err := newClient(t, addr).Scan(context.Background(), bytes.NewReader([]byte("x")))
		if !errors.Is(err, scan.ErrUnavailable) {
			t.Errorf("%s: err %v, want ErrUnavailable", addr, err)
		}
	}
}

func TestScanCancelled(t *testing.T) {
	c := newClient(t, testsvc.ClamdAddress(t))
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Scan(ctx, pr)
		done <- err
	}()
	if _, err := pw.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = pw.CloseWithError(context.Canceled)
	if err := <-done; err == nil {
		t.Fatal("a cancelled scan returned a verdict")
	}
}

// TestScanTimeout: a daemon that accepts the stream but never answers costs at most
// the client's timeout, and is no verdict.
func TestScanTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, conn) }() // reads forever, answers never
		}
	}()
	c, err := scan.New(scan.Config{Address: "tcp:" + l.Addr().String(), Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Scan(context.Background(), bytes.NewReader([]byte("hello")))
	if !errors.Is(err, scan.ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a silent daemon held the scan for %v", d)
	}
}
