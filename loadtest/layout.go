package loadtest

import "math"

// connSpec is one WebSocket connection of the plan. Every connection belongs to one
// user and subscribes to exactly one room, so each connection carries one delivery
// stream to check.
type connSpec struct {
	Index   int  `json:"i"`
	User    int  `json:"u"`
	Room    int  `json:"r"`
	Target  int  `json:"t"`
	Source  int  `json:"s"` // index into the source addresses; -1: the kernel's choice
	Publish bool `json:"p,omitempty"`
}

// layout is who is where: users, rooms and connections, computed from the Config
// alone so that every worker agrees on it and tests can check the arithmetic.
type layout struct {
	Users      int        // users to register (besides the rooms' owner)
	Rooms      int        // rooms to create
	Members    int        // connections per room (the last room may have fewer)
	Publishers int        // connections that publish
	Conns      []connSpec // by index
}

// buildLayout places the connections:
//
//   - connection i belongs to user i mod U and to room i / M (M = ceil(N/R)), so a
//     room's M connections are consecutive and, with M <= U, all of different users:
//     a user leaving a room in mixed takes exactly one connection out of it;
//   - a user's connections are i, i+U, i+2U, ...: round-robin over connections
//     visits each user at even intervals, which keeps every user under the rate
//     limit when the pacer goes round-robin at Rate over all publishers;
//   - targets and source addresses alternate with the index, so each node and each
//     source address gets an equal share;
//   - in idle and connect-storm, which do not publish, a user's connections are
//     consecutive instead, so a room holds few users: every connection hears a
//     presence_updated for each user it shares a room with, and with every user in
//     every room a connect storm would measure the presence flood, not the upgrades.
//
// U is the largest of: N / ConnsPerUser (the server's per-user connection cap),
// Rate / PerUserRate (the per-user send limit: 10 per 10 s), where every connection
// publishes N / floor(PerUserRate * N / Rate) (so that no user holds more publishing
// connections than its share of the rate allows) and, where rooms must be made of
// distinct users, M.
func buildLayout(c *Config, sources int) *layout {
	n := c.Conns
	m := (n + c.Rooms - 1) / c.Rooms
	l := &layout{Members: m, Rooms: (n + m - 1) / m}
	users := (n + c.ConnsPerUser - 1) / c.ConnsPerUser
	rateUsers := int(math.Ceil(c.Rate / PerUserRate))
	switch c.Scenario {
	case Fanout:
		l.Publishers = c.Publishers
		if l.Publishers == 0 {
			l.Publishers = min(n, rateUsers)
		}
		users = max(users, l.Publishers)
	case Rooms, Mixed, Soak:
		l.Publishers = n
		users = max(users, rateUsers, m)
		// Every connection publishes Rate/n, so a user's share is its number of
		// connections times that: none may hold more than k = PerUserRate*n/Rate,
		// or the users that get one connection more than the average (U rarely
		// divides n) send over the limit.
		if k := int(PerUserRate * float64(n) / c.Rate); c.Rate > 0 && k >= 1 {
			users = max(users, (n+k-1)/k)
		}
	}
	l.Users = max(1, users)
	targets := max(1, len(c.Targets))
	l.Conns = make([]connSpec, n)
	for i := range l.Conns {
		src := -1
		if sources > 0 {
			src = (i / targets) % sources
		}
		u := i % l.Users
		if !publishes(c.Scenario) {
			u = i * l.Users / n // consecutive: few users per room (see above)
		}
		l.Conns[i] = connSpec{
			Index: i, User: u, Room: i / m, Target: targetOf(i, targets), Source: src,
			Publish: i < l.Publishers,
		}
	}
	return l
}

// memberships returns each (user, room) pair the setup must join, once.
func (l *layout) memberships() [][2]int {
	seen := make(map[[2]int]bool, len(l.Conns))
	var out [][2]int
	for _, c := range l.Conns {
		k := [2]int{c.User, c.Room}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// split cuts the connections into w contiguous shares of (nearly) equal size.
func split(conns []connSpec, w int) [][]connSpec {
	w = max(1, min(w, len(conns)))
	out := make([][]connSpec, w)
	base, extra := len(conns)/w, len(conns)%w
	at := 0
	for i := range out {
		size := base
		if i < extra {
			size++
		}
		out[i] = conns[at : at+size]
		at += size
	}
	return out
}

// workersFor is the number of processes n connections need at most per of them.
func workersFor(n, per int) int { return max(1, (n+per-1)/per) }

// targetOf is the target (node) connection i is spread onto.
func targetOf(i, targets int) int { return i % max(1, targets) }
