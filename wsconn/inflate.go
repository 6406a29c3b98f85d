package wsconn

import (
	"errors"
	"io"

	"github.com/klauspost/compress/flate"
)

// inflater decompresses permessage-deflate messages. Each worker owns one, so the
// decompressor's ~40 KiB window and the output buffer exist once per worker, never
// per connection. Clients agreed to client_no_context_takeover, so every message
// inflates from an empty window.
type inflater struct {
	src tailReader
	fr  io.ReadCloser // klauspost flate reader; implements flate.Resetter
	out []byte        // capacity limit+1: the extra byte detects a message over the limit
}

func newInflater(limit int) *inflater {
	z := &inflater{out: make([]byte, limit+1)}
	z.fr = flate.NewReader(&z.src)
	return z
}

// inflate decompresses one message into the inflater's buffer, which stays valid
// until the next call. It stops reading at limit+1 bytes, so a compression bomb
// costs at most that much memory and the time to inflate that much: more than limit
// bytes is errTooBig; corrupt input is errBadDeflate.
func (z *inflater) inflate(p []byte, limit int) ([]byte, *closeError) {
	z.src = tailReader{p: p}
	if err := z.fr.(flate.Resetter).Reset(&z.src, nil); err != nil {
		return nil, errBadDeflate
	}
	out := z.out[:limit+1]
	n := 0
	for {
		m, err := z.fr.Read(out[n:])
		n += m
		switch {
		case n > limit:
			return nil, errTooBig
		case errors.Is(err, io.EOF):
			return out[:n], nil
		case err != nil, m == 0:
			return nil, errBadDeflate // corrupt, or no progress without an error
		}
	}
}

// deflateTail completes a permessage-deflate payload (RFC 7692 7.2.2): the 00 00 ff
// ff the sender stripped, then an empty final stored block so the reader ends with
// io.EOF instead of waiting for more.
var deflateTail = [...]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// tailReader reads p then deflateTail. It implements io.ByteReader so that the flate
// reader uses it directly instead of wrapping it in a bufio.Reader per message.
type tailReader struct {
	p []byte
	t int
}

func (r *tailReader) Read(b []byte) (int, error) {
	if len(r.p) > 0 {
		n := copy(b, r.p)
		r.p = r.p[n:]
		return n, nil
	}
	if r.t < len(deflateTail) {
		n := copy(b, deflateTail[r.t:])
		r.t += n
		return n, nil
	}
	return 0, io.EOF
}

func (r *tailReader) ReadByte() (byte, error) {
	if len(r.p) > 0 {
		c := r.p[0]
		r.p = r.p[1:]
		return c, nil
	}
	if r.t < len(deflateTail) {
		c := deflateTail[r.t]
		r.t++
		return c, nil
	}
	return 0, io.EOF
}
