package persist

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
)

// redisPresencePrefix namespaces presence keys: one hash per user, a field per node
// holding that node's connection count.
const redisPresencePrefix = "chatd:presence:"

// presenceScript adds ARGV[2] to the node's count (field ARGV[1]), drops the field at
// zero, renews the key's TTL (ARGV[3] ms) and returns the user's total, atomically.
var presenceScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = 0
local vals = redis.call('HVALS', KEYS[1])
for i = 1, #vals do total = total + tonumber(vals[i]) end
if total > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) else redis.call('DEL', KEYS[1]) end
return total
`)

// NewRedisPresence returns the cluster's Presence, kept in Redis with a TTL of
// chat.PresenceTTL renewed by every change and by Refresh.
func NewRedisPresence(client *redis.Client) Presence {
	return &redisPresence{client: client, ttl: chat.PresenceTTL}
}

type redisPresence struct {
	client *redis.Client
	ttl    time.Duration
}

func presenceKey(user chat.ID) string { return redisPresencePrefix + user.String() }

func (p *redisPresence) change(ctx context.Context, user chat.ID, node string, d int) (int, error) {
	n, err := presenceScript.Run(ctx, p.client, []string{presenceKey(user)}, node, d, p.ttl.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("persist: presence of %s: %w", user, err)
	}
	return n, nil
}

func (p *redisPresence) Connect(ctx context.Context, user chat.ID, node string) (int, error) {
	return p.change(ctx, user, node, 1)
}

func (p *redisPresence) Disconnect(ctx context.Context, user chat.ID, node string) (int, error) {
	return p.change(ctx, user, node, -1)
}

func (p *redisPresence) Refresh(ctx context.Context, users []chat.ID, node string) ([]chat.ID, error) {
	if len(users) == 0 {
		return nil, nil
	}
	pipe := p.client.Pipeline()
	set := make([]*redis.BoolCmd, len(users))
	for i, u := range users {
		set[i] = pipe.HSetNX(ctx, presenceKey(u), node, 1)
		pipe.PExpire(ctx, presenceKey(u), p.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("persist: refresh presence: %w", err)
	}
	var restored []chat.ID
	for i, u := range users {
		if set[i].Val() {
			restored = append(restored, u)
		}
	}
	return restored, nil
}

func (p *redisPresence) Connected(ctx context.Context, users []chat.ID) (map[chat.ID]bool, error) {
	out := make(map[chat.ID]bool, len(users))
	if len(users) == 0 {
		return out, nil
	}
	pipe := p.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(users))
	for i, u := range users {
		cmds[i] = pipe.Exists(ctx, presenceKey(u))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("persist: presence lookup: %w", err)
	}
	for i, u := range users {
		out[u] = cmds[i].Val() > 0
	}
	return out, nil
}
