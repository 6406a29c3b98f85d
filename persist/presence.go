package persist

import (
	"context"

	"github.com/chatd/chatd/chat"
)

// Presence counts users' open connections across the cluster, so that a user is online
// while any of their devices is connected, whichever nodes hold them, and offline
// once the last one closes.
//
// Counts are kept per node: a node that dies without saying goodbye leaves its counts
// behind only until they expire (chat.PresenceTTL, refreshed while connections live),
// so presence recovers within one TTL. Nothing here is needed to recover messages.
//
// Two implementations: NewMemoryPresence (one process; the embedded default) and
// NewRedisPresence (the cluster's shared truth). Both are safe for concurrent use.
type Presence interface {
	// Connect counts one more connection of user on node and returns the user's total
	// across the cluster after the change.
	Connect(ctx context.Context, user chat.ID, node string) (total int, err error)
	// Disconnect counts one connection less and returns the total after the change.
	Disconnect(ctx context.Context, user chat.ID, node string) (total int, err error)
	// Refresh extends the life of the user's counts by chat.PresenceTTL (activity, or a
	// node's periodic heartbeat for its connected users).
	Refresh(ctx context.Context, users []chat.ID) error
	// Connected reports which of users have at least one live connection.
	Connected(ctx context.Context, users []chat.ID) (map[chat.ID]bool, error)
}
