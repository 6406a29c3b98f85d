package node

import "sync"

// peerChunkSize is the size of the pooled buffers a link's queue is made of: big
// enough that a burst of small frames is a handful of iovecs, small enough that a
// lightly used link pins little memory.
const peerChunkSize = 64 << 10

// peerChunk is one buffer of encoded frames. A frame may span two chunks: writev
// does not care, and no frame size needs a buffer of its own.
type peerChunk struct{ b []byte }

var peerChunkPool = sync.Pool{New: func() any { return &peerChunk{b: make([]byte, 0, peerChunkSize)} }}

// peerQueue is a link's outbound queue: encoded frames in pooled chunks, written
// by the link's writer with one writev per burst. Send copies each frame in (the
// caller keeps its payload), so a steady stream of Sends allocates nothing.
// Guarded by peerLink.mu.
type peerQueue struct {
	chunks []*peerChunk
	frames int
	bytes  int
}

// push appends one frame.
func (q *peerQueue) push(kind uint8, payload []byte) {
	var hdr [peerFrameHeader]byte
	q.write(appendPeerFrameHeader(hdr[:0], kind, len(payload)))
	q.write(payload)
	q.frames++
	q.bytes += peerFrameHeader + len(payload)
}

// write copies b to the tail of the queue, taking new chunks as they fill.
func (q *peerQueue) write(b []byte) {
	for len(b) > 0 {
		var c *peerChunk
		if n := len(q.chunks); n > 0 && len(q.chunks[n-1].b) < peerChunkSize {
			c = q.chunks[n-1]
		} else {
			c = peerChunkPool.Get().(*peerChunk)
			q.chunks = append(q.chunks, c)
		}
		room := peerChunkSize - len(c.b)
		k := min(room, len(b))
		c.b = append(c.b, b[:k]...)
		b = b[k:]
	}
}

// release returns every chunk to the pool: the frames are discarded.
func (q *peerQueue) release() {
	releasePeerChunks(q.chunks)
	q.chunks = q.chunks[:0]
	q.frames, q.bytes = 0, 0
}

func releasePeerChunks(cs []*peerChunk) {
	for i, c := range cs {
		c.b = c.b[:0]
		peerChunkPool.Put(c)
		cs[i] = nil
	}
}
