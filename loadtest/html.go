package loadtest

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"
)

// The HTML report is one file with inline SVG charts and inline CSS: it opens
// offline, can be attached to a ticket, and loads nothing from anywhere.

// line is one series of a chart.
type line struct {
	name  string
	color string
	ys    []float64
}

// chart is an SVG line chart over time.
type chart struct {
	title string
	unit  string
	xs    []float64
	lines []line
	logY  bool      // latencies span decades
	marks []float64 // x positions of phase changes (load start and end)
}

const (
	chartW, chartH         = 820.0, 240.0
	padL, padR, padT, padB = 64.0, 16.0, 28.0, 36.0
)

// svg draws the chart.
func (c chart) svg() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(c.title))
	fmt.Fprintf(&b, `<text x="%.0f" y="18" class="t">%s</text>`, padL, template.HTMLEscapeString(c.title))
	if len(c.xs) < 2 {
		b.WriteString(`<text x="300" y="120" class="l">not enough samples</text></svg>`)
		return template.HTML(b.String())
	}
	x0, x1 := c.xs[0], c.xs[len(c.xs)-1]
	ymax := 0.0
	for _, l := range c.lines {
		for _, y := range l.ys {
			ymax = max(ymax, y)
		}
	}
	ymin := 0.0
	if c.logY {
		ymin, ymax = 0.01, math.Max(ymax, 0.1)
	}
	ymax = niceCeil(ymax)
	px := func(x float64) float64 { return padL + (x-x0)/math.Max(x1-x0, 1e-9)*(chartW-padL-padR) }
	py := func(y float64) float64 {
		f := y / math.Max(ymax, 1e-9)
		if c.logY {
			y = math.Max(y, ymin)
			f = math.Log10(y/ymin) / math.Log10(ymax/ymin)
		}
		return chartH - padB - f*(chartH-padT-padB)
	}
	c.axes(&b, px, py, ymin, ymax, x0, x1)
	for _, m := range c.marks {
		if m > x0 && m < x1 {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" class="m"/>`, px(m), px(m), padT, chartH-padB)
		}
	}
	for i, l := range c.lines {
		var pts []string
		for j, y := range l.ys {
			if j < len(c.xs) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(c.xs[j]), py(y)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, l.color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="8" width="10" height="10" fill="%s"/><text x="%.0f" y="17" class="l">%s</text>`,
			chartW-padR-110*float64(len(c.lines)-i), l.color, chartW-padR-110*float64(len(c.lines)-i)+14,
			template.HTMLEscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the frame, the y ticks (decades on a log axis) and the time ticks.
func (c chart) axes(b *strings.Builder, px, py func(float64) float64, ymin, ymax, x0, x1 float64) {
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" class="f"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	var ticks []float64
	if c.logY {
		for v := ymin; v <= ymax*1.001; v *= 10 {
			ticks = append(ticks, v)
		}
	} else {
		for i := range 5 {
			ticks = append(ticks, ymax*float64(i)/4)
		}
	}
	for _, v := range ticks {
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="g"/><text x="%.0f" y="%.1f" class="y">%s</text>`,
			padL, chartW-padR, py(v), py(v), padL-6, py(v)+4, template.HTMLEscapeString(figure(v, c.unit)))
	}
	step := niceCeil(math.Max((x1-x0)/8, 1))
	for t := math.Ceil(x0/step) * step; t <= x1; t += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" class="x">%gs</text>`, px(t), chartH-padB+16, t)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// charts builds the report's charts from its time series.
func (r *Report) charts() []template.HTML {
	n := len(r.Series)
	xs := make([]float64, n)
	sent, acked, deliv, conns, est := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	p50, p99, pmax := make([]float64, n), make([]float64, n), make([]float64, n)
	prevT := 0.0
	for i, p := range r.Series {
		xs[i] = p.T
		dt := math.Max(p.T-prevT, 1e-3)
		prevT = p.T
		sent[i], acked[i], deliv[i] = float64(p.Sent)/dt, float64(p.Acked)/dt, float64(p.Delivered)/dt
		conns[i], est[i] = float64(p.Conns), float64(p.Established)/dt
		p50[i], p99[i], pmax[i] = p.P50, p.P99, p.Max
	}
	marks := []float64{r.Phases.LoadStart, r.Phases.LoadEnd}
	out := []template.HTML{
		chart{title: "Messages per second", unit: "/s", xs: xs, marks: marks,
			lines: []line{{"sent", "#1f77b4", sent}, {"acked", "#2ca02c", acked}}}.svg(),
		chart{title: "Deliveries per second", unit: "/s", xs: xs, marks: marks,
			lines: []line{{"delivered", "#9467bd", deliv}}}.svg(),
		chart{title: "Delivery latency per second (log scale)", unit: "ms", xs: xs, marks: marks, logY: true,
			lines: []line{{"p50", "#2ca02c", p50}, {"p99", "#ff7f0e", p99}, {"max", "#d62728", pmax}}}.svg(),
		chart{title: "Connections", unit: "", xs: xs, marks: marks,
			lines: []line{{"open", "#1f77b4", conns}, {"new per s", "#8c564b", est}}}.svg(),
	}
	if len(r.ServerSeries) > 1 {
		out = append(out, r.serverChart(marks))
	}
	return out
}

// serverChart draws the servers' memory (MiB) and CPU (% of one core) over time.
func (r *Report) serverChart(marks []float64) template.HTML {
	n := len(r.ServerSeries)
	xs, rss, cpu := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, s := range r.ServerSeries {
		xs[i], rss[i] = s.T, s.RSS/(1<<20)
		if i > 0 {
			prev := r.ServerSeries[i-1]
			cpu[i] = (s.CPUSeconds - prev.CPUSeconds) / math.Max(s.T-prev.T, 1e-3) * 100
		}
	}
	return chart{title: "Server: RSS (MiB) and CPU (% of a core)", xs: xs, marks: marks,
		lines: []line{{"RSS MiB", "#17becf", rss}, {"CPU %", "#bcbd22", cpu}}}.svg()
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{"ms": fmtMs}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chatload {{.R.Scenario}} {{.When}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:900px}
h1{font-size:20px}pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}
svg{display:block;margin:16px 0}.t{font-weight:600;font-size:13px}.l{font-size:11px}
.y{font-size:10px;text-anchor:end}.x{font-size:10px;text-anchor:middle}
.f{fill:none;stroke:#bbb}.g{stroke:#eee}.m{stroke:#888;stroke-dasharray:4 3}
.bad{color:#b00;font-weight:600}.ok{color:#070;font-weight:600}
</style></head><body>
<h1>chatload {{.R.Scenario}}</h1>
<p>{{.When}} &middot; {{range .R.Settings.Targets}}{{.}} {{end}}</p>
<p>Delivery: {{if .R.Delivery.OK}}<span class="ok">OK</span>{{else}}<span class="bad">FAILED</span>{{end}}
{{if .R.Client.Saturated}} &middot; <span class="bad">generator saturated: latencies include its own delay</span>{{end}}
{{if .R.Interrupted}} &middot; <span class="bad">interrupted</span>{{end}}</p>
<table><tr><th>latency</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>count</th></tr>
{{range .Lat}}<tr><td>{{.Name}}</td><td>{{ms .L.P50}}</td><td>{{ms .L.P90}}</td><td>{{ms .L.P99}}</td><td>{{ms .L.P999}}</td><td>{{ms .L.Max}}</td><td>{{.L.Count}}</td></tr>
{{end}}</table>
{{range .Charts}}{{.}}
{{end}}<p>Dashed lines: start and end of the load phase.</p>
<h2>Summary</h2><pre>{{.Text}}</pre>
</body></html>
`))

// WriteHTML writes the self-contained HTML report to path.
func (r *Report) WriteHTML(path string) error {
	var text bytes.Buffer
	r.WriteText(&text)
	data := map[string]any{
		"R": r, "When": r.Started.Format("2006-01-02 15:04:05 UTC"), "Text": text.String(), "Charts": r.charts(),
		"Lat": latencyRows(r),
	}
	var out bytes.Buffer
	if err := htmlPage.Execute(&out, data); err != nil {
		return fmt.Errorf("loadtest: render html: %w", err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("loadtest: write html: %w", err)
	}
	return nil
}

// named is a row of the HTML report's latency table.
type named struct {
	Name string
	L    Latency
}

// latencyRows are the latency table's rows, with the same-node and cross-node split
// when the run had several targets.
func latencyRows(r *Report) []named {
	rows := []named{{"delivery", r.Deliveries.Latency}}
	if r.Deliveries.SameNode != nil {
		rows = append(rows, named{"delivery, same node", *r.Deliveries.SameNode}, named{"delivery, cross node", *r.Deliveries.CrossNode})
	}
	if r.Deliveries.Steady != nil {
		rows = append(rows, named{fmt.Sprintf("delivery after the first %gs", r.Settings.WarmupSeconds), *r.Deliveries.Steady})
	}
	return append(rows, named{"send ack", r.Messages.AckLatency}, named{"handshake", r.Connections.Handshake})
}
