package loadtest

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.2e+08
process_cpu_seconds_total 12.5
go_goroutines 42
go_memstats_heap_inuse_bytes 1000
go_memstats_stack_inuse_bytes 24
go_memstats_next_gc_bytes 3e+06
go_memstats_heap_idle_bytes 5000
go_memstats_heap_released_bytes 1000
go_gc_gogc_percent 50
go_memstats_last_gc_time_seconds 1.7e+09
chatd_connections{node="a"} 10
chatd_connections{node="b",note="x y"} 5 1700000000000
chatd_messages_committed_total 7
chatd_other_total 99
malformed line
chatd_rate_limited_total not-a-number
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := serverSample{RSS: 1.2e8, CPUSeconds: 12.5, Goroutines: 42, GoInuse: 1024, Connections: 15, Committed: 7,
		LiveHeap: 2e6, LastGC: 1.7e9, FreeHeld: 4000, nextGC: 3e6, gogc: 50, idle: 5000, released: 1000, OK: true}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
}
