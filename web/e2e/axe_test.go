package e2e

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// axeVersion is the axe-core release the accessibility checks run. It comes from
// the npm registry through `npm pack` (which checks the tarball's integrity against
// the registry's), once, into the user's cache directory (or CHATD_AXE_DIR).
const axeVersion = "4.10.3"

var axe struct {
	once sync.Once
	src  string
	err  error
}

// axeSource returns axe.min.js, fetching it on first use.
func axeSource() (string, error) {
	axe.once.Do(func() { axe.src, axe.err = loadAxe() })
	return axe.src, axe.err
}

func loadAxe() (string, error) {
	dir := os.Getenv("CHATD_AXE_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir = filepath.Join(cache, "chatd-test", "axe-core-"+axeVersion)
	}
	file := filepath.Join(dir, "axe.min.js")
	if b, err := os.ReadFile(file); err == nil {
		return string(b), nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm not found to fetch axe-core: %w", err)
	}
	tmp, err := os.MkdirTemp("", "axe-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "pack", "axe-core@"+axeVersion, "--pack-destination", tmp, "--silent")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm pack axe-core@%s: %w\n%s", axeVersion, err, out)
	}
	f, err := os.Open(filepath.Join(tmp, "axe-core-"+axeVersion+".tgz"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", errors.New("axe.min.js not in the axe-core package")
		}
		if err != nil {
			return "", err
		}
		if h.Name != "package/axe.min.js" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return "", err
		}
		return string(b), nil
	}
}

// runAxe checks the page with axe-core: no serious or critical violation. Without
// axe-core (no npm, no network) it logs and returns, except under CI.
func runAxe(t *testing.T, tb *tab, screen string) {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is required under CI: %v", err)
		}
		t.Logf("axe-core unavailable, accessibility of %s not checked: %v", screen, err)
		return
	}
	tb.eval(src+";true", nil)
	var violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []string
	}
	var passes int
	tb.eval(`axe.run(document).then((r) => r.passes.length)`, &passes)
	t.Logf("axe %s: %d rules pass", screen, passes)
	tb.eval(`axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations
	  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
	  .map((v) => ({id: v.id, impact: v.impact, help: v.help, Nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 200))})))`, &violations)
	for _, v := range violations {
		t.Errorf("axe %s: %s (%s) on %s", screen, v.ID, v.Impact, v.Help)
		t.Logf("  nodes:\n    %s", strings.Join(v.Nodes, "\n    "))
	}
}
