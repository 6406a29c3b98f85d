package testsvc

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/scan"
)

const clamdInstallHint = "install the Debian package `clamav-daemon` (apt-get install clamav-daemon)"

// clamdPath is where Debian's clamav-daemon package installs the daemon; a variable so
// that tests can point it elsewhere.
var clamdPath = "/usr/sbin/clamd"

// MalwareMarker is a byte string that the harness's own signature database flags
// (Chatd.Test.Marker): any stream containing it is reported as infected.
const MalwareMarker = "CHATD-TEST-MALWARE-MARKER-7d1f"

// EICAR returns the EICAR anti-virus test file (68 bytes), built at run time so that
// no source file of the repository trips a virus scanner.
func EICAR() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-" + `TEST-FILE!$H+H*`)
}

// ClamdLimits are the scan limits of the harness's daemons, for tests that build
// inputs past them: a stream scans at most MaxScanSize bytes in all.
var ClamdLimits = struct{ MaxFileSize, MaxScanSize, StreamMaxLength int64 }{
	MaxFileSize: 12 << 20, MaxScanSize: 24 << 20, StreamMaxLength: 12 << 20,
}

// Clamd is a ClamAV daemon started by the harness.
type Clamd struct {
	// Address is its --clamd address ("unix:/path/clamd.sock").
	Address string
	proc    *proc
}

// Stop stops the daemon and waits for it to exit (scanner-down tests).
func (c *Clamd) Stop() { c.proc.stop(syscall.SIGKILL, 10*time.Second) }

var (
	clamdOnce sync.Once
	clamdSrv  *Clamd
	clamdErr  error
)

// ClamdAddress returns the address of the ClamAV daemon shared by this test binary
// (started on first use), which runs with the harness's tiny signature database:
// the EICAR test file (by MD5) and MalwareMarker. Limits are ClamdLimits, with
// AlertExceedsMax, so that content past them is reported as
// Heuristics.Limits.Exceeded instead of a plain OK.
func ClamdAddress(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	clamdOnce.Do(func() { clamdSrv, clamdErr = startClamd() })
	if clamdErr != nil {
		fail(tb, clamdErr)
	}
	return clamdSrv.Address
}

// NewClamd starts a daemon of the test's own, stopped when the test ends (or earlier
// with Stop): for tests that take the scanner down.
func NewClamd(tb testing.TB) *Clamd {
	tb.Helper()
	requireMain(tb)
	c, err := startClamd()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(c.Stop)
	return c
}

func findClamd() (string, error) {
	if isExecutable(clamdPath) {
		return clamdPath, nil
	}
	if p, err := exec.LookPath("clamd"); err == nil {
		return p, nil
	}
	return "", &unavailableError{"clamd not found at " + clamdPath + " or on PATH: " + clamdInstallHint}
}

// startClamd writes the signature database and a configuration into a fresh
// directory and starts clamd in the foreground on a unix socket there.
func startClamd() (*Clamd, error) {
	bin, err := findClamd()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("chatd-clamd-")
	if err != nil {
		return nil, err
	}
	if err := writeClamdFiles(dir); err != nil {
		return nil, err
	}
	p, err := startProc("clamd", filepath.Join(dir, "clamd.log"), dir, nil, syscall.SIGKILL, bin,
		"--foreground", "--config-file="+filepath.Join(dir, "clamd.conf"))
	if err != nil {
		return nil, err
	}
	atStop(func() { p.stop(syscall.SIGTERM, 10*time.Second) })
	c := &Clamd{Address: "unix:" + filepath.Join(dir, "clamd.sock"), proc: p}
	client, err := scan.New(scan.Config{Address: c.Address, Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(func(ctx context.Context) error { return client.Ping(ctx) }); err != nil {
		p.stop(syscall.SIGKILL, time.Second)
		return nil, err
	}
	return c, nil
}

// writeClamdFiles writes db/test.hdb (EICAR by MD5 and size), db/test.ndb (the
// marker, anywhere in any file) and clamd.conf into dir.
func writeClamdFiles(dir string) error {
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		return fmt.Errorf("clamd: %w", err)
	}
	files := map[string]string{
		filepath.Join(db, "test.hdb"): "44d88612fea8a8f36de82e1278abb02f:68:Chatd.Test.EICAR\n",
		filepath.Join(db, "test.ndb"): "Chatd.Test.Marker:0:*:" + hex.EncodeToString([]byte(MalwareMarker)) + "\n",
		filepath.Join(dir, "clamd.conf"): strings.Join([]string{
			"Foreground yes",
			"DatabaseDirectory " + db,
			"TemporaryDirectory " + dir,
			"LocalSocket " + filepath.Join(dir, "clamd.sock"),
			"LogTime yes",
			fmt.Sprintf("StreamMaxLength %d", ClamdLimits.StreamMaxLength),
			fmt.Sprintf("MaxFileSize %d", ClamdLimits.MaxFileSize),
			fmt.Sprintf("MaxScanSize %d", ClamdLimits.MaxScanSize),
			"MaxRecursion 10",
			"MaxFiles 1000",
			"AlertExceedsMax yes",
			"AlertEncryptedArchive yes",
			"SelfCheck 3600",
			"",
		}, "\n"),
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return fmt.Errorf("clamd: %w", err)
		}
	}
	return nil
}
