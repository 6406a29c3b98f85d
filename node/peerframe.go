package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/chatd/chatd/chat"
)

// Wire format of a peer link after the handshake (peerlink_handshake.go): a stream
// of frames, each
//
//	uint32 length (big endian) of what follows: kind and payload, so at least 1
//	uint8  kind (0 is the heartbeat, reserved to the link; the node defines the rest)
//	payload: length-1 bytes, encoded with PeerEncoder
//
// A frame's length is checked against the reader's limit before any byte of its
// payload is read or allocated, so a corrupted or hostile length costs nothing.
const (
	peerFrameHeader = 5 // uint32 length + kind
	// PeerMaxPayload bounds a frame's payload; Send refuses larger ones and a reader
	// drops the link on a frame announcing more. Large enough for a room's recent
	// buffer or a gap repair answer, small enough that a bad length cannot make a node
	// allocate gigabytes.
	PeerMaxPayload = 16 << 20
	// PeerKindHeartbeat is the reserved kind of the link's keepalive frame (no payload);
	// it never reaches PeerHandler.
	PeerKindHeartbeat uint8 = 0
)

// Errors of the frame reader and of PeerDecoder. Every decoding failure wraps one
// of them, so callers can classify with errors.Is.
var (
	// ErrPeerFrame is a malformed frame: a zero length or a length over the limit.
	ErrPeerFrame = errors.New("node: malformed peer frame")
	// ErrPeerDecode is a payload that does not match what the decoder was asked for:
	// truncated, an overlong varint, a length beyond the remaining bytes, trailing bytes.
	ErrPeerDecode = errors.New("node: malformed peer payload")
)

// appendPeerFrameHeader appends the 5-byte header of a frame whose payload has n bytes.
func appendPeerFrameHeader(b []byte, kind uint8, n int) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(n+1)), kind)
}

// AppendPeerFrame appends a whole frame to b: what a link writes for Send(kind,
// payload). The node does not need it (Send frames for it); tests and tools do.
func AppendPeerFrame(b []byte, kind uint8, payload []byte) []byte {
	return append(appendPeerFrameHeader(b, kind, len(payload)), payload...)
}

// peerFrameReader reads frames from a buffered stream. A payload that fits in the
// bufio.Reader's buffer is returned in place (no copy); a larger one is read into a
// buffer that is reused by the next large frame. Either way the payload is only valid
// until the next call to next: that is why PeerHandler may not keep it.
type peerFrameReader struct {
	r   *bufio.Reader
	max int    // largest payload accepted
	buf []byte // reused for payloads larger than r's buffer
	// skip is how many bytes of r still hold the payload returned last time; they are
	// discarded at the next call, once the caller is done with them.
	skip int
}

// peerReaderKeep bounds the large-payload buffer kept between frames: one 16 MiB
// frame should not pin 16 MiB per link for the link's lifetime.
const peerReaderKeep = 1 << 20

func newPeerFrameReader(r *bufio.Reader, max int) *peerFrameReader {
	return &peerFrameReader{r: r, max: max}
}

// buffered is how many bytes of frames not yet returned by next are in the read
// buffer. The last payload returned may still sit there (it is skipped on the next
// call), so r.Buffered() alone is never 0 after a small frame.
func (fr *peerFrameReader) buffered() int { return fr.r.Buffered() - fr.skip }

// next returns the next frame. It returns io.EOF only at a clean end between frames,
// io.ErrUnexpectedEOF inside one, an error wrapping ErrPeerFrame on a bad header, and
// the stream's own error otherwise.
func (fr *peerFrameReader) next() (kind uint8, payload []byte, err error) {
	if fr.skip > 0 {
		_, _ = fr.r.Discard(fr.skip) // the bytes are buffered: Discard cannot fail
		fr.skip = 0
	}
	if cap(fr.buf) > peerReaderKeep {
		fr.buf = nil
	}
	hdr, err := fr.r.Peek(peerFrameHeader)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	if n == 0 {
		return 0, nil, fmt.Errorf("%w: zero length", ErrPeerFrame)
	}
	if uint64(n-1) > uint64(fr.max) {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes over the limit of %d", ErrPeerFrame, n-1, fr.max)
	}
	kind = hdr[4]
	_, _ = fr.r.Discard(peerFrameHeader)
	size := int(n - 1)
	if size <= fr.r.Size() {
		payload, err = fr.r.Peek(size)
		if err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		fr.skip = size
		return kind, payload, nil
	}
	if cap(fr.buf) < size {
		fr.buf = make([]byte, size)
	}
	payload = fr.buf[:size]
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	return kind, payload, nil
}

// unexpectedEOF turns an EOF in the middle of a frame into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// PeerEncoder builds a frame payload by appending to B. The zero value is ready to
// use; set B to a reused buffer (B[:0]) to encode without allocating. The encodings
// are those PeerDecoder reads back: keep the field order of a message identical on
// both sides, and add fields only at the end, so that a decoder that checks Err
// rather than Finish can ignore fields a newer sender added.
type PeerEncoder struct {
	B []byte
}

// Uint8 appends one byte.
func (e *PeerEncoder) Uint8(v uint8) { e.B = append(e.B, v) }

// Bool appends a byte 0 or 1.
func (e *PeerEncoder) Bool(v bool) {
	var b byte
	if v {
		b = 1
	}
	e.B = append(e.B, b)
}

// Uvarint appends v as an unsigned varint (1 byte below 128, at most 10).
func (e *PeerEncoder) Uvarint(v uint64) { e.B = binary.AppendUvarint(e.B, v) }

// Varint appends v as a zig-zag signed varint: small negative numbers stay short.
func (e *PeerEncoder) Varint(v int64) { e.B = binary.AppendVarint(e.B, v) }

// ID appends a 16-byte identifier as is (no length: it is fixed).
func (e *PeerEncoder) ID(id chat.ID) { e.B = append(e.B, id[:]...) }

// Bytes appends b prefixed with its length as a uvarint.
func (e *PeerEncoder) Bytes(b []byte) {
	e.B = binary.AppendUvarint(e.B, uint64(len(b)))
	e.B = append(e.B, b...)
}

// Str appends s prefixed with its length as a uvarint, like Bytes.
func (e *PeerEncoder) Str(s string) {
	e.B = binary.AppendUvarint(e.B, uint64(len(s)))
	e.B = append(e.B, s...)
}

// PeerDecoder reads a payload written by PeerEncoder. It never panics on bad input:
// the first failure is kept (every later read returns a zero value) and reported by
// Err and Finish, so a message is decoded field after field with one check at the end:
//
//	d := NewPeerDecoder(payload)
//	room, seq, body := d.ID(), d.Uvarint(), d.Bytes()
//	if err := d.Finish(); err != nil { ... }
//
// Bytes aliases the payload, which is only valid during HandlePeerFrame: copy what
// is kept. Str copies.
type PeerDecoder struct {
	b   []byte
	off int
	err error
}

// NewPeerDecoder returns a decoder reading b from its start.
func NewPeerDecoder(b []byte) PeerDecoder { return PeerDecoder{b: b} }

// Err returns the first failure, wrapping ErrPeerDecode, or nil.
func (d *PeerDecoder) Err() error { return d.err }

// Len returns how many bytes are left unread.
func (d *PeerDecoder) Len() int { return len(d.b) - d.off }

// Finish returns the first failure or, if all went well, an error when bytes are
// left over: a message decoded with the wrong layout fails rather than half-succeeds.
// A decoder that tolerates fields added by newer senders checks Err instead.
func (d *PeerDecoder) Finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

func (d *PeerDecoder) fail(what string, n int) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d (%d)", ErrPeerDecode, what, d.off, n)
		d.off = len(d.b)
	}
}

// take returns the next n bytes, or nil after recording a failure.
func (d *PeerDecoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("truncated", n)
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

// Uint8 reads one byte.
func (d *PeerDecoder) Uint8() uint8 {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

// Bool reads a byte written by PeerEncoder.Bool; anything but 0 or 1 is a failure.
func (d *PeerDecoder) Bool() bool {
	switch v := d.Uint8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad bool", int(v))
		return false
	}
}

// Uvarint reads an unsigned varint.
func (d *PeerDecoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad uvarint", n)
		return 0
	}
	d.off += n
	return v
}

// Varint reads a zig-zag signed varint.
func (d *PeerDecoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint", n)
		return 0
	}
	d.off += n
	return v
}

// ID reads a 16-byte identifier.
func (d *PeerDecoder) ID() chat.ID {
	var id chat.ID
	copy(id[:], d.take(len(id)))
	return id
}

// Bytes reads a length-prefixed byte string, aliasing the payload (no copy). The
// length is checked against what is left before anything is sliced.
func (d *PeerDecoder) Bytes() []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("length beyond payload", int(min(n, math.MaxInt32)))
		return nil
	}
	return d.take(int(n))
}

// Str reads a length-prefixed string (a copy: strings outlive the payload). It is
// not called String so that a PeerDecoder is no fmt.Stringer: printing one must not
// consume it.
func (d *PeerDecoder) Str() string { return string(d.Bytes()) }

// Count reads an element count written with Uvarint and checks it against what is
// left, given that each element takes at least minSize bytes (1 if minSize < 1), so
// that make([]T, d.Count(n)) cannot be turned into a huge allocation by a bad count.
func (d *PeerDecoder) Count(minSize int) int {
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	minSize = max(minSize, 1)
	if n > uint64((len(d.b)-d.off)/minSize) {
		d.fail("count beyond payload", int(min(n, math.MaxInt32)))
		return 0
	}
	return int(n)
}
