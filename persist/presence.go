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
//
// The API counts one per node, not one per connection: it calls Connect when a node's
// first connection of the user opens and Disconnect when its last one closes, so a
// total is the number of nodes holding the user's connections.
type Presence interface {
	// Connect counts user once more on node and returns the user's total across the
	// cluster after the change.
	Connect(ctx context.Context, user chat.ID, node string) (total int, err error)
	// Disconnect counts user once less on node and returns the total after the change.
	Disconnect(ctx context.Context, user chat.ID, node string) (total int, err error)
	// Refresh extends the life of the users' entries by chat.PresenceTTL (a node's
	// periodic heartbeat for the users it holds) and writes node's count of each
	// as 1 if the store lost it (a Redis restarted empty), so presence recovers
	// within one heartbeat. It returns the users whose entry it wrote back, which
	// peers may meanwhile have been told are offline.
	Refresh(ctx context.Context, users []chat.ID, node string) (restored []chat.ID, err error)
	// Connected reports which of users have at least one live connection.
	Connected(ctx context.Context, users []chat.ID) (map[chat.ID]bool, error)
}
