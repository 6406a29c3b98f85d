package loadtest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressPrinter draws the live progress line. On a terminal it redraws one line
// in place every second; into a file or pipe it writes a line every 5 s, so that
// logs stay readable.
type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	start time.Time
	drawn bool // a progress line is on screen (tty)
	prev  progress
	prevT time.Time
	lastW time.Time
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, start: time.Now(), prevT: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// draw shows the totals: elapsed, connections, send and delivery rates since the
// last draw, the p99 so far and the error count.
func (p *progressPrinter) draw(t progress) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	dt := now.Sub(p.prevT).Seconds()
	if dt <= 0 {
		return
	}
	sentRate := float64(t.Sent-p.prev.Sent) / dt
	delivRate := float64(t.Delivered-p.prev.Delivered) / dt
	p.prev, p.prevT = t, now
	if !p.tty && now.Sub(p.lastW) < 5*time.Second {
		return
	}
	p.lastW = now
	line := fmt.Sprintf("[%6.1fs] %-7s conns %s (%s up once)  sent %s/s  delivered %s/s  p99 %s  errors %d",
		now.Sub(p.start).Seconds(), t.Phase, human(float64(t.Conns)), human(float64(t.Established)),
		human(sentRate), human(delivRate), fmtMs(t.P99), t.Errors)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// say prints a whole line, clearing the progress line first.
func (p *progressPrinter) say(s string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintln(p.w, s)
}

func (p *progressPrinter) clear() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progressPrinter) clearLocked() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// human prints a count or rate compactly: 950, 12.3k, 4.56M.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.2f", v/1e6), ".00") + "M"
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	}
}
