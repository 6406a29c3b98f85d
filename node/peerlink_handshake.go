package node

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The handshake proves, in both directions, that the other end holds the cluster key,
// before a single frame is read. It is a mutual challenge-response (D dials, A
// accepts; nD, nA are 32 random bytes each):
//
//	D -> A  hello: magic "CHATDPL" + version 1, nD, len(nameD), nameD
//	A -> D  reply: magic + version, nA, len(nameA), nameA, macA
//	D -> A  proof: macD
//	A -> D  ok:    one byte 1
//
//	macX = HMAC-SHA256(k, "chatd peer link v1" 0 role nD nA len(nameD) nameD len(nameA) nameA)
//	role = "accept" for macA, "dial" for macD; k = HMAC-SHA256(clusterKey, "chatd peer-link key v1")
//
// Both nonces make every MAC fresh (no replay of a recorded handshake), the role label
// keeps one side's MAC from being reflected as the other's, both names bind the link to
// who is at each end (a node cannot be made to believe it talks to another name), and
// the derived k keeps the HMAC key apart from the memberlist encryption key that the
// cluster key also feeds. The acceptor answers first, so a dialer reveals nothing
// keyed before the acceptor has proved the key; the acceptor answers any stranger's
// hello with a MAC, but over its own fresh nonce and the "accept" role, which no
// dialer ever accepts in place of "dial". MACs are compared in constant time.
//
// The handshake authenticates the connection, not each frame: an attacker who can
// rewrite packets on the path between two nodes is out of scope (run the peer port
// on a private network, or under WireGuard/IPsec); a client or a stray process that
// can only open connections cannot get a frame accepted.
const (
	peerVersion     = 1
	peerNonceLen    = 32
	peerMACLen      = sha256.Size
	peerMaxNameLen  = 255
	peerMACLabel    = "chatd peer link v1"
	peerKeyLabel    = "chatd peer-link key v1"
	peerHandshakeOK = 1
)

var peerMagic = [8]byte{'C', 'H', 'A', 'T', 'D', 'P', 'L', peerVersion}

// errPeerHandshake wraps every handshake failure, so that a failure can be told from
// a dial error or a closed Peers.
var errPeerHandshake = errors.New("peer handshake failed")

// derivePeerKey turns the cluster key into the peer links' HMAC key.
func derivePeerKey(clusterKey []byte) []byte {
	m := hmac.New(sha256.New, clusterKey)
	m.Write([]byte(peerKeyLabel))
	return m.Sum(nil)
}

// peerMAC computes macA (role "accept") or macD (role "dial").
func peerMAC(key []byte, role string, nD, nA []byte, nameD, nameA string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(peerMACLabel))
	m.Write([]byte{0})
	m.Write([]byte(role))
	m.Write(nD)
	m.Write(nA)
	m.Write([]byte{byte(len(nameD))})
	m.Write([]byte(nameD))
	m.Write([]byte{byte(len(nameA))})
	m.Write([]byte(nameA))
	return m.Sum(nil)
}

// peerHello is what each side says first: its nonce and name.
type peerHello struct {
	nonce [peerNonceLen]byte
	name  string
}

func newPeerHello(name string) (peerHello, error) {
	h := peerHello{name: name}
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return h, fmt.Errorf("node: peer nonce: %w", err)
	}
	return h, nil
}

func (h *peerHello) append(b []byte) []byte {
	b = append(b, peerMagic[:]...)
	b = append(b, h.nonce[:]...)
	b = append(b, byte(len(h.name)))
	return append(b, h.name...)
}

// readPeerHello reads a hello and checks its magic and version; it reads at most
// 8+32+1+255 bytes, whatever the other end sends.
func readPeerHello(r *bufio.Reader) (peerHello, error) {
	var h peerHello
	var fixed [len(peerMagic) + peerNonceLen + 1]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, fmt.Errorf("%w: read hello: %w", errPeerHandshake, err)
	}
	if [8]byte(fixed[:8]) != peerMagic {
		return h, fmt.Errorf("%w: bad magic or version %q", errPeerHandshake, fixed[:8])
	}
	copy(h.nonce[:], fixed[8:8+peerNonceLen])
	name := make([]byte, fixed[len(fixed)-1])
	if _, err := io.ReadFull(r, name); err != nil {
		return h, fmt.Errorf("%w: read hello: %w", errPeerHandshake, err)
	}
	h.name = string(name)
	return h, nil
}

func readPeerMAC(r *bufio.Reader) ([]byte, error) {
	mac := make([]byte, peerMACLen)
	if _, err := io.ReadFull(r, mac); err != nil {
		return nil, fmt.Errorf("%w: read proof: %w", errPeerHandshake, err)
	}
	return mac, nil
}

// checkPeerName refuses an empty name and this node's own name: a peer claiming to
// be us is misconfigured or hostile either way.
func checkPeerName(name, self string) error {
	switch name {
	case "":
		return fmt.Errorf("%w: empty peer name", errPeerHandshake)
	case self:
		return fmt.Errorf("%w: peer claims this node's own name %q", errPeerHandshake, name)
	}
	return nil
}

// dialHandshake runs the dialer's side on c: it proves the key to a peer that must
// be called want, and returns once the peer has accepted the proof.
func dialHandshake(c net.Conn, r *bufio.Reader, key []byte, self, want string, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("%w: %w", errPeerHandshake, err)
	}
	me, err := newPeerHello(self)
	if err != nil {
		return err
	}
	if _, err := c.Write(me.append(nil)); err != nil {
		return fmt.Errorf("%w: write hello: %w", errPeerHandshake, err)
	}
	them, err := readPeerHello(r)
	if err != nil {
		return err
	}
	macA, err := readPeerMAC(r)
	if err != nil {
		return err
	}
	if !hmac.Equal(macA, peerMAC(key, "accept", me.nonce[:], them.nonce[:], self, them.name)) {
		return fmt.Errorf("%w: the peer does not hold the cluster key", errPeerHandshake)
	}
	if err := checkPeerName(them.name, self); err != nil {
		return err
	}
	if them.name != want {
		return fmt.Errorf("%w: the peer at this address is %q, not %q", errPeerHandshake, them.name, want)
	}
	if _, err := c.Write(peerMAC(key, "dial", me.nonce[:], them.nonce[:], self, them.name)); err != nil {
		return fmt.Errorf("%w: write proof: %w", errPeerHandshake, err)
	}
	ok, err := r.ReadByte()
	if err != nil {
		return fmt.Errorf("%w: the peer refused our proof: %w", errPeerHandshake, err)
	}
	if ok != peerHandshakeOK {
		return fmt.Errorf("%w: unexpected answer %d to our proof", errPeerHandshake, ok)
	}
	return clearDeadline(c)
}

// acceptHandshake runs the acceptor's side on c and returns the proven name of the
// dialer. Nothing the dialer sends after its hello is read as a frame unless this
// returns nil.
func acceptHandshake(c net.Conn, r *bufio.Reader, key []byte, self string, timeout time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", fmt.Errorf("%w: %w", errPeerHandshake, err)
	}
	them, err := readPeerHello(r)
	if err != nil {
		return "", err
	}
	if err := checkPeerName(them.name, self); err != nil {
		return "", err
	}
	me, err := newPeerHello(self)
	if err != nil {
		return "", err
	}
	reply := me.append(make([]byte, 0, 128+peerMACLen))
	reply = append(reply, peerMAC(key, "accept", them.nonce[:], me.nonce[:], them.name, self)...)
	if _, err := c.Write(reply); err != nil {
		return "", fmt.Errorf("%w: write reply: %w", errPeerHandshake, err)
	}
	macD, err := readPeerMAC(r)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(macD, peerMAC(key, "dial", them.nonce[:], me.nonce[:], them.name, self)) {
		return "", fmt.Errorf("%w: %q does not hold the cluster key", errPeerHandshake, them.name)
	}
	if _, err := c.Write([]byte{peerHandshakeOK}); err != nil {
		return "", fmt.Errorf("%w: write ok: %w", errPeerHandshake, err)
	}
	return them.name, clearDeadline(c)
}

func clearDeadline(c net.Conn) error {
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("%w: %w", errPeerHandshake, err)
	}
	return nil
}
