package wsconn

import "sync"

// bufPool hands out the buffers of the per-connection read state (an incomplete
// frame, the fragments of a message) in size classes. A buffer is taken when a
// frame stays incomplete at the end of a read and returned as soon as it completes,
// so an idle connection holds none. Buffers grow to the next class as bytes
// actually arrive, never on the length a peer declares, so a peer that announces
// 64 KiB and sends one byte costs one small buffer.
type bufPool struct {
	sizes []int // ascending capacities; the last is the largest buffer ever needed
	pools []sync.Pool
}

// pbuf is a pooled buffer; the pointer keeps sync.Pool from allocating on Put.
type pbuf struct{ b []byte }

// newBufPool returns a pool whose largest class holds max bytes.
func newBufPool(max int) *bufPool {
	var sizes []int
	for n := 1 << 10; n < max; n *= 4 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, max)
	return &bufPool{sizes: sizes, pools: make([]sync.Pool, len(sizes))}
}

// get returns an empty buffer with capacity of at least n; n must not exceed max.
func (p *bufPool) get(n int) *pbuf {
	for i, size := range p.sizes {
		if n > size {
			continue
		}
		if v := p.pools[i].Get(); v != nil {
			b := v.(*pbuf)
			b.b = b.b[:0]
			return b
		}
		return &pbuf{b: make([]byte, 0, size)}
	}
	panic("wsconn: buffer request over the largest class")
}

// put returns b to its class. Buffers of foreign capacity are dropped.
func (p *bufPool) put(b *pbuf) {
	if b == nil {
		return
	}
	for i, size := range p.sizes {
		if cap(b.b) == size {
			p.pools[i].Put(b)
			return
		}
	}
}

// append appends data to b (nil b takes a new buffer), moving to a larger class
// when the bytes no longer fit. The total must not exceed max.
func (p *bufPool) append(b *pbuf, data []byte) *pbuf {
	need := len(data)
	if b != nil {
		need += len(b.b)
	}
	switch {
	case b == nil:
		b = p.get(need)
	case need > cap(b.b):
		nb := p.get(need)
		nb.b = append(nb.b, b.b...)
		p.put(b)
		b = nb
	}
	b.b = append(b.b, data...)
	return b
}
