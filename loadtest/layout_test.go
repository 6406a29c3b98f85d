package loadtest

import (
	"math"
	"testing"
)

func layoutFor(t *testing.T, c Config, sources int) (*Config, *layout) {
	t.Helper()
	c.Targets = append(c.Targets, Target{URL: "http://127.0.0.1:1"}, Target{URL: "http://127.0.0.1:2"})
	c.MaxConnsPerProcess = 1000
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	return &c, buildLayout(&c, sources)
}

func TestLayoutRoomsHaveDistinctUsers(t *testing.T) {
	for _, sc := range []string{Rooms, Mixed, Soak} {
		_, l := layoutFor(t, Config{Scenario: sc, Conns: 999, Rate: 10}, 0)
		byRoom := map[int]map[int]bool{}
		for _, c := range l.Conns {
			if byRoom[c.Room] == nil {
				byRoom[c.Room] = map[int]bool{}
			}
			if byRoom[c.Room][c.User] {
				t.Fatalf("%s: user %d twice in room %d", sc, c.User, c.Room)
			}
			byRoom[c.Room][c.User] = true
		}
		if len(byRoom) != l.Rooms {
			t.Fatalf("%s: %d rooms used, layout says %d", sc, len(byRoom), l.Rooms)
		}
	}
}

func TestLayoutConnsPerUserAndTargets(t *testing.T) {
	cfg, l := layoutFor(t, Config{Scenario: Idle, Conns: 12345, ConnsPerUser: 40}, 3)
	perUser := map[int]int{}
	perTarget := map[int]int{}
	perSource := map[int]int{}
	for _, c := range l.Conns {
		perUser[c.User]++
		perTarget[c.Target]++
		perSource[c.Source]++
	}
	for u, n := range perUser {
		if n > cfg.ConnsPerUser {
			t.Fatalf("user %d has %d connections, cap %d", u, n, cfg.ConnsPerUser)
		}
	}
	if d := perTarget[0] - perTarget[1]; d < -1 || d > 1 {
		t.Fatalf("targets unbalanced: %v", perTarget)
	}
	for s := range 3 {
		if n := perSource[s]; n < 12345/3-2 || n > 12345/3+2 {
			t.Fatalf("sources unbalanced: %v", perSource)
		}
	}
	if l.Publishers != 0 {
		t.Fatalf("idle has %d publishers", l.Publishers)
	}
}

// TestLayoutKeepsUsersUnderRateLimit replays the pacer: each of w workers goes
// round-robin over its publishers at its share of the rate; no user may send more
// than 10 in any 10 s (the server's limit), and the layout aims at 8 (PerUserRate).
func TestLayoutKeepsUsersUnderRateLimit(t *testing.T) {
	cases := []Config{
		{Scenario: Fanout, Conns: 500, Rate: 50},
		{Scenario: Fanout, Conns: 300, Rate: 200},
		{Scenario: Rooms, Conns: 1000, Rate: 100},
		{Scenario: Rooms, Conns: 2500, Rate: 2000},
		{Scenario: Rooms, Conns: 4000, Rate: 1000}, // the latency benchmark at half rate
		{Scenario: Rooms, Conns: 4000, Rate: 2000},
		{Scenario: Mixed, Conns: 500, Rate: 50},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 3} {
			cfg, l := layoutFor(t, c, 0)
			var sends []struct {
				at   float64
				user int
			}
			for _, share := range split(l.Conns, workers) {
				var pubs []connSpec
				for _, s := range share {
					if s.Publish {
						pubs = append(pubs, s)
					}
				}
				if len(pubs) == 0 {
					continue
				}
				rate := cfg.Rate * float64(len(pubs)) / float64(l.Publishers)
				for k := range int(rate * 30) { // 30 s
					sends = append(sends, struct {
						at   float64
						user int
					}{float64(k) / rate, pubs[k%len(pubs)].User})
				}
			}
			// 8 in exact arithmetic; a send landing on both edges of a window makes 9.
			if got := worstWindow(sends, l.Users); got > 9 {
				t.Errorf("%s %d conns %g/s, %d workers: a user sends %d in 10 s (users %d)",
					c.Scenario, c.Conns, c.Rate, workers, got, l.Users)
			}
		}
	}
}

// worstWindow is the most sends of one user within any 10 s.
func worstWindow(sends []struct {
	at   float64
	user int
}, users int) int {
	byUser := make([][]float64, users)
	for _, s := range sends {
		byUser[s.user] = append(byUser[s.user], s.at)
	}
	worst := 0
	for _, ts := range byUser {
		// sends of one worker are in order; across workers, sort by insertion.
		sortFloats(ts)
		j := 0
		for i := range ts {
			for ts[i]-ts[j] >= 10 {
				j++
			}
			worst = max(worst, i-j+1)
		}
	}
	return worst
}

func sortFloats(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestLayoutFanoutPublishers(t *testing.T) {
	_, l := layoutFor(t, Config{Scenario: Fanout, Conns: 500, Rate: 50}, 0)
	if want := int(math.Ceil(50 / PerUserRate)); l.Publishers != want || l.Rooms != 1 || l.Members != 500 {
		t.Fatalf("publishers %d rooms %d members %d, want %d 1 500", l.Publishers, l.Rooms, l.Members, want)
	}
	seen := map[int]bool{}
	for _, c := range l.Conns[:l.Publishers] {
		if !c.Publish || seen[c.User] {
			t.Fatalf("publisher %+v: not publishing or user repeated", c)
		}
		seen[c.User] = true
	}
	if l.Conns[l.Publishers].Publish {
		t.Fatal("too many publishers")
	}
}

func TestSplit(t *testing.T) {
	conns := make([]connSpec, 10)
	for i := range conns {
		conns[i].Index = i
	}
	parts := split(conns, 3)
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) != 3 || len(parts[2]) != 3 || parts[2][2].Index != 9 {
		t.Fatalf("split: %v", parts)
	}
	if len(split(conns[:2], 5)) != 2 {
		t.Fatal("no empty workers")
	}
	if workersFor(18000, 18000) != 1 || workersFor(18001, 18000) != 2 || workersFor(40000, 18000) != 3 {
		t.Fatal("workersFor")
	}
}

func TestMemberships(t *testing.T) {
	_, l := layoutFor(t, Config{Scenario: Fanout, Conns: 100, Rate: 4, ConnsPerUser: 10}, 0)
	if got := len(l.memberships()); got != l.Users {
		t.Fatalf("%d memberships, want one per user (%d) in the one room", got, l.Users)
	}
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		total   int64
		weights []int
		want    []int64
	}{
		{60, []int{17, 17, 16}, []int64{21, 20, 19}},
		{60, []int{63, 0, 0}, []int64{60, 0, 0}},
		{10, []int{0, 0}, []int64{0, 0}},
		{7, []int{1, 1, 1}, []int64{3, 2, 2}},
	} {
		got := apportion(tc.total, tc.weights)
		var sum int64
		for i := range got {
			sum += got[i]
			if got[i] != tc.want[i] {
				t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
				break
			}
		}
		if len(tc.weights) > 0 && tc.weights[0] > 0 && sum != tc.total {
			t.Errorf("apportion(%d, %v) sums to %d", tc.total, tc.weights, sum)
		}
	}
}
