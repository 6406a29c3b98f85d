package wsconn

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// frameSink receives what the parser finds in a connection's input. The parser calls
// it synchronously; slices are valid only during the call.
type frameSink interface {
	// onMessage receives one complete, validated text message.
	onMessage(data []byte)
	onPing(payload []byte)
	onPong(payload []byte)
	// onClose receives the peer's close frame; parsing stops after it.
	onClose(code ws.StatusCode, reason []byte)
}

// readState is what a connection keeps between two reads. The zero value (and a nil
// *readState) is an idle connection: it holds no buffer.
type readState struct {
	partial     *pbuf // the bytes of one incomplete frame
	msg         *pbuf // the payloads of the fragments of a message so far
	inMsg       bool  // a fragmented message is in progress
	msgDeflated bool  // ... and its first frame had RSV1 set
	backlog     []byte

	// Results of the last feed, for the frame timeout.
	newPartial bool // a new incomplete frame was stashed
	delivered  int  // messages delivered
}

func (st *readState) idle() bool {
	return st.partial == nil && !st.inMsg && st.backlog == nil
}

// header is a parsed client frame header.
type header struct {
	length int64
	mask   [4]byte
	size   int // header length on the wire
	op     ws.OpCode
	fin    bool
	rsv1   bool
	rsv23  bool
	masked bool
}

// headerSize returns the header length implied by the second header byte.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader parses the frame header at the start of b. ok is false when b does
// not hold the whole header yet.
func parseHeader(b []byte) (h header, ok bool, err *closeError) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.size = headerSize(b[1])
	if len(b) < h.size {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.rsv1 = b[0]&0x40 != 0
	h.rsv23 = b[0]&0x30 != 0
	h.op = ws.OpCode(b[0] & 0x0f)
	h.masked = b[1]&0x80 != 0
	i := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		i = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, false, errBadLength
		}
		h.length = int64(u)
		i = 10
	default:
		h.length = int64(l)
	}
	if h.masked {
		copy(h.mask[:], b[i:i+4])
	}
	return h, true, nil
}

// parser turns a connection's input into messages. A worker owns one and points it
// at each connection it serves (deflate); the per-connection state lives in a
// readState. It never allocates on a declared length: every limit is checked on
// the header, before the payload is buffered.
type parser struct {
	pool       *bufPool
	maxMessage int // largest message, after reassembly and inflation
	maxWire    int // largest compressed message
	deflate    bool
	infl       *inflater // created on the first compressed message
	frames     int       // frames parsed, for Stats
}

func newParser(maxMessage int, pool *bufPool) *parser {
	return &parser{pool: pool, maxMessage: maxMessage, maxWire: maxWire(maxMessage)}
}

// maxWire bounds a compressed message: deflate may expand incompressible input a
// little; more than an eighth is not a real client.
func maxWire(maxMessage int) int { return maxMessage + maxMessage/8 + 64 }

// feed parses data, which continues whatever st holds. A non-nil error fails the
// connection with its code; the stream is then out of sync and st must be reset.
// Payloads are unmasked in place: data must be the caller's to modify.
func (p *parser) feed(st *readState, data []byte, sink frameSink) *closeError {
	st.newPartial, st.delivered = false, 0
	for len(data) > 0 {
		if st.partial != nil {
			n, complete, err := p.fill(st, data)
			data = data[n:]
			if err != nil || !complete {
				return err
			}
			stop, err := p.completePartial(st, sink)
			if err != nil || stop {
				return err
			}
			continue
		}
		h, ok, err := parseHeader(data)
		if err != nil {
			return err
		}
		if ok {
			if err := p.check(st, &h); err != nil {
				return err
			}
			if total := h.size + int(h.length); len(data) >= total {
				stop, err := p.handle(st, &h, data[h.size:total], sink)
				if err != nil || stop {
					return err
				}
				data = data[total:]
				continue
			}
		}
		// An incomplete frame: data holds its beginning and nothing else.
		st.partial = p.pool.append(nil, data)
		st.newPartial = true
		return nil
	}
	return nil
}

// fill moves bytes of data into the incomplete frame, never past its end. It
// returns how many bytes it took and whether the frame is now complete.
func (p *parser) fill(st *readState, data []byte) (used int, complete bool, err *closeError) {
	for {
		need, err := p.missing(st, st.partial.b)
		switch {
		case err != nil:
			return used, false, err
		case need == 0:
			return used, true, nil
		case used == len(data):
			return used, false, nil
		}
		take := min(need, len(data)-used)
		st.partial = p.pool.append(st.partial, data[used:used+take])
		used += take
	}
}

// missing returns how many bytes the incomplete frame b lacks to reach its next
// milestone (the end of its header, then the end of its payload); 0 when complete.
func (p *parser) missing(st *readState, b []byte) (int, *closeError) {
	if len(b) < 2 {
		return 2 - len(b), nil
	}
	if hs := headerSize(b[1]); len(b) < hs {
		return hs - len(b), nil
	}
	h, _, err := parseHeader(b)
	if err != nil {
		return 0, err
	}
	if err := p.check(st, &h); err != nil {
		return 0, err
	}
	return h.size + int(h.length) - len(b), nil
}

// completePartial handles the frame that st.partial now holds whole and releases it.
func (p *parser) completePartial(st *readState, sink frameSink) (bool, *closeError) {
	frame := st.partial.b
	h, _, _ := parseHeader(frame) // checked by missing
	stop, err := p.handle(st, &h, frame[h.size:], sink)
	p.pool.put(st.partial)
	st.partial = nil
	return stop, err
}

// check validates a header against the protocol and the limits before any of its
// payload is buffered.
func (p *parser) check(st *readState, h *header) *closeError {
	if !h.masked {
		return errUnmasked
	}
	if h.rsv23 {
		return errReservedBits
	}
	if h.op.IsControl() {
		if h.op > ws.OpPong {
			return errReservedOpcode
		}
		if !h.fin || h.rsv1 || h.length > maxControlPayload {
			return errControlFrame
		}
		return nil
	}
	limit := p.maxMessage
	switch h.op {
	case ws.OpContinuation:
		if !st.inMsg {
			return errContinuation
		}
		if h.rsv1 {
			return errReservedBits
		}
		if st.msgDeflated {
			limit = p.maxWire
		}
	case ws.OpText:
		if st.inMsg {
			return errExpectedCont
		}
		if h.rsv1 {
			if !p.deflate {
				return errReservedBits
			}
			limit = p.maxWire
		}
	case ws.OpBinary:
		if st.inMsg {
			return errExpectedCont
		}
		return errBinary
	default:
		return errReservedOpcode
	}
	if st.msg != nil {
		limit -= len(st.msg.b)
	}
	if h.length > int64(limit) {
		return errTooBig
	}
	return nil
}

// handle processes one complete, checked frame whose payload is still masked.
func (p *parser) handle(st *readState, h *header, payload []byte, sink frameSink) (stop bool, err *closeError) {
	p.frames++
	ws.Cipher(payload, h.mask, 0)
	switch h.op {
	case ws.OpText:
		if h.fin {
			return p.deliver(st, payload, h.rsv1, sink)
		}
		st.inMsg, st.msgDeflated = true, h.rsv1
		if len(payload) > 0 {
			st.msg = p.pool.append(st.msg, payload)
		}
	case ws.OpContinuation:
		if len(payload) > 0 {
			st.msg = p.pool.append(st.msg, payload)
		}
		if h.fin {
			var data []byte
			if st.msg != nil {
				data = st.msg.b
			}
			stop, err = p.deliver(st, data, st.msgDeflated, sink)
			p.pool.put(st.msg)
			st.msg, st.inMsg, st.msgDeflated = nil, false, false
			return stop, err
		}
	case ws.OpPing:
		sink.onPing(payload)
	case ws.OpPong:
		sink.onPong(payload)
	case ws.OpClose:
		code, reason, err := parseClose(payload)
		if err != nil {
			return false, err
		}
		sink.onClose(code, reason)
		return true, nil
	}
	return false, nil
}

// deliver inflates (when compressed) and validates one complete message, then hands
// it to the sink.
func (p *parser) deliver(st *readState, data []byte, deflated bool, sink frameSink) (bool, *closeError) {
	if deflated {
		if p.infl == nil {
			p.infl = newInflater(p.maxMessage)
		}
		out, err := p.infl.inflate(data, p.maxMessage)
		if err != nil {
			return false, err
		}
		data = out
	}
	if !utf8.Valid(data) {
		return false, errInvalidUTF8
	}
	st.delivered++
	sink.onMessage(data)
	return false, nil
}

// reset releases st's buffers after the stream went out of sync or the connection
// ended.
func (p *parser) reset(st *readState) {
	p.pool.put(st.partial)
	p.pool.put(st.msg)
	*st = readState{}
}

// parseClose reads a close frame's body (RFC 6455 5.5.1, 7.4).
func parseClose(b []byte) (ws.StatusCode, []byte, *closeError) {
	switch len(b) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, errBadClose
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(b))
	if !validCloseCode(code) {
		return 0, nil, errBadClose
	}
	if !utf8.Valid(b[2:]) {
		return 0, nil, errBadCloseUTF8
	}
	return code, b[2:], nil
}

// validCloseCode reports whether a peer may send code in a close frame.
func validCloseCode(c ws.StatusCode) bool {
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
}
