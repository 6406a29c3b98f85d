package wsconn

import (
	"errors"

	"github.com/gobwas/ws"
)

// Close codes used by this package (RFC 6455 section 7.4 and the IANA registry). The
// API's own table of protocol codes maps onto these; they are the socket-level half.
const (
	// CloseNormal (1000): the purpose of the connection was fulfilled.
	CloseNormal = ws.StatusNormalClosure
	// CloseGoingAway (1001): sent to a peer idle for longer than Config.IdleTimeout.
	CloseGoingAway = ws.StatusGoingAway
	// CloseProtocolError (1002): an unmasked, reserved, oversized control or otherwise
	// malformed frame.
	CloseProtocolError = ws.StatusProtocolError
	// CloseUnsupportedData (1003): a binary frame; the contract speaks text only.
	CloseUnsupportedData = ws.StatusUnsupportedData
	// CloseNoStatus (1005) is reported to Handler.OnClose when the peer's close frame
	// carried no code. It is never sent.
	CloseNoStatus = ws.StatusNoStatusRcvd
	// CloseAbnormal (1006) is reported to Handler.OnClose when the connection ended
	// without a closing handshake (reset, EOF, forced teardown). It is never sent.
	CloseAbnormal = ws.StatusAbnormalClosure
	// CloseInvalidPayload (1007): a text message that is not UTF-8, or a compressed
	// message that does not inflate.
	CloseInvalidPayload = ws.StatusInvalidFramePayloadData
	// ClosePolicyViolation (1008): the write queue overflowed ("too slow"), or a frame
	// stayed incomplete longer than Config.FrameTimeout.
	ClosePolicyViolation = ws.StatusPolicyViolation
	// CloseMessageTooBig (1009): a message over Config.MaxMessage, also when reached
	// through continuations or through permessage-deflate inflation.
	CloseMessageTooBig = ws.StatusMessageTooBig
	// CloseInternalError (1011): the server met an unexpected condition.
	CloseInternalError = ws.StatusInternalServerError
	// CloseServiceRestart (1012): the node is shutting down; reconnect elsewhere.
	CloseServiceRestart ws.StatusCode = 1012
	// CloseTryAgainLater (1013): the node is overloaded.
	CloseTryAgainLater ws.StatusCode = 1013
)

// Close reasons sent by this package. They are constants so that failing a
// connection allocates nothing.
const (
	ReasonTooSlow        = "too slow"
	ReasonIdleTimeout    = "idle timeout"
	ReasonFrameTimeout   = "frame timeout"
	ReasonTooBig         = "message too big"
	ReasonBinary         = "binary messages are not supported"
	ReasonInvalidUTF8    = "invalid UTF-8"
	ReasonBadDeflate     = "invalid compressed data"
	ReasonUnmasked       = "unmasked client frame"
	ReasonReservedBits   = "reserved bits set"
	ReasonReservedOpcode = "reserved opcode"
	ReasonControlFrame   = "invalid control frame"
	ReasonContinuation   = "unexpected continuation frame"
	ReasonExpectedCont   = "expected continuation frame"
	ReasonBadLength      = "invalid payload length"
	ReasonBadClose       = "invalid close frame"
)

var (
	// ErrSlowConsumer is returned by Conn.Send when the connection's write queue is
	// full. The connection is being closed with 1008 "too slow" and the event is
	// counted in Stats.SlowConsumerCloses; the client resumes by seq.
	ErrSlowConsumer = errors.New("wsconn: slow consumer: write queue full")
	// ErrClosed is returned by Conn.Send once the connection is closing or closed.
	ErrClosed = errors.New("wsconn: connection closed")
	// ErrServerClosed is returned by Server.Upgrade after Server.Shutdown began.
	ErrServerClosed = errors.New("wsconn: server shut down")
	// ErrUnsupportedConn is returned by Server.Upgrade when the hijacked connection
	// exposes no file descriptor (for example TLS terminated by net/http): terminate
	// TLS in front of the node.
	ErrUnsupportedConn = errors.New("wsconn: hijacked connection has no raw file descriptor")
)

// closeError is why the frame parser fails a connection: the code and reason to
// send. It is always one of the package's preallocated values.
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string { return "wsconn: " + e.reason }

var (
	errTooBig         = &closeError{CloseMessageTooBig, ReasonTooBig}
	errBinary         = &closeError{CloseUnsupportedData, ReasonBinary}
	errInvalidUTF8    = &closeError{CloseInvalidPayload, ReasonInvalidUTF8}
	errBadDeflate     = &closeError{CloseInvalidPayload, ReasonBadDeflate}
	errUnmasked       = &closeError{CloseProtocolError, ReasonUnmasked}
	errReservedBits   = &closeError{CloseProtocolError, ReasonReservedBits}
	errReservedOpcode = &closeError{CloseProtocolError, ReasonReservedOpcode}
	errControlFrame   = &closeError{CloseProtocolError, ReasonControlFrame}
	errContinuation   = &closeError{CloseProtocolError, ReasonContinuation}
	errExpectedCont   = &closeError{CloseProtocolError, ReasonExpectedCont}
	errBadLength      = &closeError{CloseProtocolError, ReasonBadLength}
	errBadClose       = &closeError{CloseProtocolError, ReasonBadClose}
	errBadCloseUTF8   = &closeError{CloseInvalidPayload, ReasonInvalidUTF8}
)
