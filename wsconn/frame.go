package wsconn

import (
	"bytes"
	"encoding/binary"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"
)

// Frame is one pre-encoded server frame. Build it once per event per node with
// NewTextFrame and hand the same *Frame to Conn.Send for every receiver: the bytes
// are never copied or encoded again per receiver. A Frame is immutable once built
// and safe to share between goroutines; it must not be modified after the first
// Send.
type Frame struct {
	wire []byte // the whole uncompressed frame: header and payload
	hdr  uint8  // header length within wire
	kind frameKind

	once sync.Once
	z    []byte // the compressed frame (RSV1 set), or wire when deflate does not help
}

type frameKind uint8

const (
	kindText   frameKind = iota // shared data frame, compressible
	kindStatic                  // shared control frame (the keepalive ping)
	kindPooled                  // per-connection control frame, back to ctlPool once written
)

// maxHeaderLen is the longest frame header: 2 bytes, 8 of length, 4 of mask.
const maxHeaderLen = 14

// maxControlPayload is the RFC 6455 limit on control frame payloads.
const maxControlPayload = 125

// compressionLevel trades CPU for bytes once per event per node; klauspost's level 1
// is its fastest and still halves typical JSON.
const compressionLevel = flate.BestSpeed

// NewTextFrame encodes payload as one unmasked, final text frame. payload is copied
// and may be reused by the caller. It must be valid UTF-8 (the API's JSON is); this
// is not checked here because it is the caller's encoder that produced it.
//
// For connections that negotiated permessage-deflate, the compressed encoding is
// computed lazily, once, by the first flush that needs it, and then shared.
func NewTextFrame(payload []byte) *Frame {
	hl := headerLen(len(payload))
	b := make([]byte, hl+len(payload))
	putHeader(b, ws.OpText, len(payload), false)
	copy(b[hl:], payload)
	return &Frame{wire: b, hdr: uint8(hl), kind: kindText}
}

// Len returns the size of the uncompressed frame on the wire, which is what the
// write queue's byte bound counts.
func (f *Frame) Len() int { return len(f.wire) }

// Payload returns the frame's uncompressed payload. The caller must not modify it.
func (f *Frame) Payload() []byte { return f.wire[f.hdr:] }

// bytesFor returns the bytes to write to a connection that did (deflate) or did
// not negotiate compression. The result is stable for the life of the Frame.
func (f *Frame) bytesFor(deflate bool) []byte {
	if !deflate || f.kind != kindText {
		return f.wire
	}
	f.once.Do(f.compress)
	return f.z
}

// headerLen returns the length of an unmasked header for an n-byte payload.
func headerLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// putHeader writes an unmasked final frame header into b and returns its length.
func putHeader(b []byte, op ws.OpCode, n int, rsv1 bool) int {
	b[0] = 0x80 | byte(op)
	if rsv1 {
		b[0] |= 0x40
	}
	switch {
	case n <= 125:
		b[1] = byte(n)
		return 2
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return 4
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return 10
	}
}

type deflater struct {
	w   *flate.Writer
	buf bytes.Buffer
}

var deflaterPool = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, compressionLevel) // only fails for a bad level
	return &deflater{w: w}
}}

// compress fills f.z: the payload deflated without context (server_no_context_
// takeover), the trailing 00 00 ff ff removed (RFC 7692 7.2.1), RSV1 set. When that
// is not smaller than the plain frame, the plain frame is used: RSV1 is per message.
func (f *Frame) compress() {
	f.z = f.wire
	d := deflaterPool.Get().(*deflater)
	defer deflaterPool.Put(d)
	d.buf.Reset()
	d.w.Reset(&d.buf)
	if _, err := d.w.Write(f.Payload()); err != nil {
		return
	}
	if err := d.w.Flush(); err != nil {
		return
	}
	out := d.buf.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		return
	}
	out = out[:len(out)-4]
	if headerLen(len(out))+len(out) >= len(f.wire) {
		return
	}
	z := make([]byte, headerLen(len(out))+len(out))
	hl := putHeader(z, ws.OpText, len(out), true)
	copy(z[hl:], out)
	f.z = z
	if d.buf.Cap() > 1<<20 {
		d.buf = bytes.Buffer{} // do not keep a huge buffer in the pool
	}
}

// pingFrame is the server's keepalive ping, shared by every connection.
var pingFrame = &Frame{wire: []byte{0x80 | byte(ws.OpPing), 0}, hdr: 2, kind: kindStatic}

var ctlPool = sync.Pool{New: func() any {
	return &Frame{wire: make([]byte, 0, 2+maxControlPayload), kind: kindPooled}
}}

// newControlFrame returns a pooled control frame carrying payload (at most 125
// bytes), released by the flusher once written or dropped.
func newControlFrame(op ws.OpCode, payload []byte) *Frame {
	f := ctlPool.Get().(*Frame)
	f.setControl(op, payload)
	return f
}

func (f *Frame) setControl(op ws.OpCode, payload []byte) {
	f.wire = f.wire[:2+len(payload)]
	f.hdr = uint8(putHeader(f.wire, op, len(payload), false))
	copy(f.wire[2:], payload)
}

// newCloseFrame builds a pooled close frame; code 1005 sends an empty body.
func newCloseFrame(code ws.StatusCode, reason string) *Frame {
	f := ctlPool.Get().(*Frame)
	if code == CloseNoStatus {
		f.setControl(ws.OpClose, nil)
		return f
	}
	reason = truncateReason(reason)
	f.wire = f.wire[:4+len(reason)]
	f.hdr = uint8(putHeader(f.wire, ws.OpClose, 2+len(reason), false))
	binary.BigEndian.PutUint16(f.wire[2:], uint16(code))
	copy(f.wire[4:], reason)
	return f
}

func releaseFrame(f *Frame) {
	if f.kind == kindPooled {
		ctlPool.Put(f)
	}
}

// truncateReason cuts a close reason to the 123 bytes a close frame allows,
// on a rune boundary.
func truncateReason(s string) string {
	const maxReason = maxControlPayload - 2
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
