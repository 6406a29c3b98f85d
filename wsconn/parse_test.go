package wsconn

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// logSink records parser events compactly (kind, length, checksum).
type logSink struct {
	events []string
}

func (s *logSink) onMessage(data []byte) {
	s.events = append(s.events, fmt.Sprintf("msg %d %08x", len(data), crc32.ChecksumIEEE(data)))
}
func (s *logSink) onPing(p []byte) { s.events = append(s.events, fmt.Sprintf("ping %q", p)) }
func (s *logSink) onPong(p []byte) { s.events = append(s.events, fmt.Sprintf("pong %q", p)) }
func (s *logSink) onClose(code ws.StatusCode, reason []byte) {
	s.events = append(s.events, fmt.Sprintf("close %d %q", code, reason))
}

// parseAll feeds chunks of a copy of input (split at the given offsets) to a fresh
// parser and returns the events, the error and the largest buffer capacity seen.
func parseAll(input []byte, deflate bool, maxMessage int, splits ...int) ([]string, *closeError, int) {
	p := newParser(maxMessage, newBufPool(maxWire(maxMessage)+maxHeaderLen))
	return parseWith(p, input, deflate, splits...)
}

// parseWith is parseAll with a parser (and its inflater) reused between runs.
func parseWith(p *parser, input []byte, deflate bool, splits ...int) ([]string, *closeError, int) {
	data := bytes.Clone(input)
	p.deflate = deflate
	var st readState
	sink := &logSink{}
	maxCap := 0
	prev := 0
	for _, cut := range append(splits, len(data)) {
		if err := p.feed(&st, data[prev:cut], sink); err != nil {
			return sink.events, err, maxCap
		}
		prev = cut
		if st.partial != nil {
			maxCap = max(maxCap, cap(st.partial.b))
		}
		if st.msg != nil {
			maxCap = max(maxCap, cap(st.msg.b))
		}
		if len(sink.events) > 0 && strings.HasPrefix(sink.events[len(sink.events)-1], "close") {
			break
		}
	}
	return sink.events, nil, maxCap
}

// clientStream encodes masked client frames.
func clientStream(t testing.TB, frames ...ws.Frame) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		f.Payload = bytes.Clone(f.Payload)
		if err := ws.WriteFrame(&b, ws.MaskFrameInPlace(f)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func compressed(t testing.TB, s string) ws.Frame {
	f, err := wsflate.CompressFrame(ws.NewTextFrame([]byte(s)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sampleStreams(t testing.TB) map[string][]byte {
	long := strings.Repeat("long message ", 200)
	return map[string][]byte{
		"text":       clientStream(t, ws.NewTextFrame([]byte("hello")), ws.NewTextFrame([]byte("héllo wörld"))),
		"empty":      clientStream(t, ws.NewTextFrame(nil)),
		"16-bit len": clientStream(t, ws.NewTextFrame([]byte(long))),
		"fragments": clientStream(t,
			ws.NewFrame(ws.OpText, false, []byte("frag")),
			ws.NewPingFrame([]byte("between")),
			ws.NewFrame(ws.OpContinuation, false, nil),
			ws.NewFrame(ws.OpContinuation, true, []byte("ments"))),
		"control": clientStream(t, ws.NewPingFrame([]byte("p")), ws.NewPongFrame(nil),
			ws.NewCloseFrame(ws.NewCloseFrameBody(CloseNormal, "bye")), ws.NewTextFrame([]byte("after close"))),
		"deflate":     clientStream(t, compressed(t, long), compressed(t, "x")),
		"too big":     clientStream(t, ws.NewTextFrame(make([]byte, 5000))),
		"binary":      clientStream(t, ws.NewBinaryFrame([]byte{1})),
		"bad utf8":    clientStream(t, ws.NewTextFrame([]byte{0xc3})),
		"bomb":        clientStream(t, compressed(t, strings.Repeat("a", 100000))),
		"bad deflate": clientStream(t, ws.Frame{Header: ws.Header{Fin: true, OpCode: ws.OpText, Rsv: ws.Rsv(true, false, false), Length: 3}, Payload: []byte{0xff, 0xff, 0xff}}),
	}
}

// TestParserSplitAtEveryByte checks that how the input is cut into reads never
// changes the outcome.
func TestParserSplitAtEveryByte(t *testing.T) {
	for name, stream := range sampleStreams(t) {
		t.Run(name, func(t *testing.T) {
			want, wantErr, _ := parseAll(stream, true, 4096)
			for i := 0; i <= len(stream); i++ {
				got, err := parseAllSplit(stream, i)
				if err != wantErr || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("split at %d: %v %v, want %v %v", i, got, err, want, wantErr)
				}
			}
			byByte := make([]int, len(stream))
			for i := range byByte {
				byByte[i] = i
			}
			got, err, _ := parseAll(stream, true, 4096, byByte...)
			if err != wantErr || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("byte by byte: %v %v, want %v %v", got, err, want, wantErr)
			}
		})
	}
}

func parseAllSplit(stream []byte, i int) ([]string, *closeError) {
	ev, err, _ := parseAll(stream, true, 4096, i)
	return ev, err
}

func TestParserOutcomes(t *testing.T) {
	streams := sampleStreams(t)
	cases := []struct {
		name   string
		events int
		err    *closeError
	}{
		{name: "text", events: 2},
		{name: "fragments", events: 2},
		{name: "control", events: 3},
		{name: "deflate", events: 2},
		{name: "too big", err: errTooBig},
		{name: "binary", err: errBinary},
		{name: "bad utf8", err: errInvalidUTF8},
		{name: "bomb", err: errTooBig},
		{name: "bad deflate", err: errBadDeflate},
	}
	for _, tc := range cases {
		ev, err, _ := parseAll(streams[tc.name], true, 4096)
		if err != tc.err || len(ev) != tc.events {
			t.Errorf("%s: events %v err %v, want %d events err %v", tc.name, ev, err, tc.events, tc.err)
		}
	}
	// Without negotiation, RSV1 is a protocol error.
	if _, err, _ := parseAll(streams["deflate"], false, 4096); err != errReservedBits {
		t.Errorf("RSV1 without deflate: %v", err)
	}
}

// TestParserDeclaredLengthNotAllocated: a header announcing a large frame costs
// only the bytes that actually arrived.
func TestParserDeclaredLengthNotAllocated(t *testing.T) {
	hdr := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 1, 2, 3, 4, 'a'}
	_, err, maxCap := parseAll(hdr, false, 64<<10)
	if err != nil || maxCap > 1<<10 {
		t.Fatalf("err %v, buffer %d bytes for %d received", err, maxCap, len(hdr))
	}
}

func TestParseAllocations(t *testing.T) {
	frame := clientStream(t, ws.NewTextFrame([]byte(`{"type":"send_message","data":{"room_id":"r","content":"hi"}}`)))
	p := newParser(64<<10, newBufPool(maxWire(64<<10)+maxHeaderLen))
	var st readState
	sink := nopSink{}
	buf := make([]byte, len(frame))
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, frame)
		if err := p.feed(&st, buf, sink); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("parsing a frame allocates %v times", allocs)
	}
}

type nopSink struct{}

func (nopSink) onMessage([]byte)              {}
func (nopSink) onPing([]byte)                 {}
func (nopSink) onPong([]byte)                 {}
func (nopSink) onClose(ws.StatusCode, []byte) {}

// FuzzReadFrames feeds arbitrary bytes to the frame parser, whole and split at
// every byte boundary (sampled beyond 256 bytes): it must never panic, must reach the same outcome however
// the input is cut, and must never hold a buffer beyond the limit.
func FuzzReadFrames(f *testing.F) {
	for _, s := range sampleStreams(f) {
		f.Add(s, true)
	}
	f.Add([]byte{0x81, 0xfe, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, data []byte, deflate bool) {
		const maxMessage = 1024
		limit := maxWire(maxMessage) + maxHeaderLen
		p := newParser(maxMessage, newBufPool(limit))
		want, wantErr, maxCap := parseWith(p, data, deflate)
		if maxCap > limit {
			t.Fatalf("buffer of %d bytes, limit %d", maxCap, limit)
		}
		step := 1 + len(data)/256 // every boundary of short inputs; long ones sampled
		for i := 0; i <= len(data); i += step {
			got, err, maxCap := parseWith(p, data, deflate, i)
			if err != wantErr || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("split at %d: %v %v, want %v %v", i, got, err, want, wantErr)
			}
			if maxCap > limit {
				t.Fatalf("buffer of %d bytes, limit %d", maxCap, limit)
			}
		}
	})
}
