package persist

import (
	"context"
	"sync"

	"github.com/chatd/chatd/chat"
)

// NewMemoryPresence returns a Presence for a single process (the embedded default).
// Counts never expire on their own: the process that holds the connections is the
// one that counts them, so it cannot die and leave them behind.
func NewMemoryPresence() Presence {
	return &memoryPresence{counts: make(map[chat.ID]map[string]int)}
}

type memoryPresence struct {
	mu     sync.Mutex
	counts map[chat.ID]map[string]int
}

func (p *memoryPresence) Connect(_ context.Context, user chat.ID, node string) (int, error) {
	return p.add(user, node, 1), nil
}

func (p *memoryPresence) Disconnect(_ context.Context, user chat.ID, node string) (int, error) {
	return p.add(user, node, -1), nil
}

func (p *memoryPresence) add(user chat.ID, node string, d int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	byNode := p.counts[user]
	if byNode == nil {
		byNode = make(map[string]int)
		p.counts[user] = byNode
	}
	if byNode[node] += d; byNode[node] <= 0 {
		delete(byNode, node)
	}
	total := 0
	for _, n := range byNode {
		total += n
	}
	if total == 0 {
		delete(p.counts, user)
	}
	return total
}

// Refresh has nothing to renew or restore: the counts live as long as the process.
func (p *memoryPresence) Refresh(context.Context, []chat.ID, string) ([]chat.ID, error) {
	return nil, nil
}

func (p *memoryPresence) Connected(_ context.Context, users []chat.ID) (map[chat.ID]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[chat.ID]bool, len(users))
	for _, u := range users {
		out[u] = len(p.counts[u]) > 0
	}
	return out, nil
}
