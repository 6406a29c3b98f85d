package wsconn

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// connTable maps file descriptors to connections for the epoll loop and is the set
// of shards the keepalive sweep walks. Lookups are lock-free (two atomic loads);
// pages of 256 slots are allocated on first use and kept, so the table costs 8
// bytes per descriptor in use plus 32 KiB for the page directory.
type connTable struct {
	mu    sync.Mutex // serialises page allocation
	pages [tableMaxPages]atomic.Pointer[tablePage]
}

const (
	tablePageBits = 8
	tablePageSize = 1 << tablePageBits
	tableMaxPages = 1 << 12 // one million descriptors
)

type tablePage [tablePageSize]atomic.Pointer[Conn]

func (t *connTable) load(fd int) *Conn {
	if fd < 0 || fd >= tablePageSize*tableMaxPages {
		return nil
	}
	p := t.pages[fd>>tablePageBits].Load()
	if p == nil {
		return nil
	}
	return p[fd&(tablePageSize-1)].Load()
}

func (t *connTable) store(fd int, c *Conn) error {
	if fd < 0 || fd >= tablePageSize*tableMaxPages {
		return fmt.Errorf("wsconn: file descriptor %d out of range", fd)
	}
	slot := &t.pages[fd>>tablePageBits]
	p := slot.Load()
	if p == nil {
		t.mu.Lock()
		if p = slot.Load(); p == nil {
			p = new(tablePage)
			slot.Store(p)
		}
		t.mu.Unlock()
	}
	p[fd&(tablePageSize-1)].Store(c)
	return nil
}

// remove clears fd's slot if it still holds c.
func (t *connTable) remove(fd int, c *Conn) {
	if p := t.pages[fd>>tablePageBits].Load(); p != nil {
		p[fd&(tablePageSize-1)].CompareAndSwap(c, nil)
	}
}

// forEach calls fn for every registered connection, page by page, with no lock held.
func (t *connTable) forEach(fn func(*Conn)) {
	for i := range t.pages {
		p := t.pages[i].Load()
		if p == nil {
			continue
		}
		for j := range p {
			if c := p[j].Load(); c != nil {
				fn(c)
			}
		}
	}
}
