package ring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/buraksezer/consistent"
)

// names returns n member names in the style prefix0, prefix1, ...
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// randomKeys returns n random 16-byte keys from a fixed seed, so that every run
// tests the same keys.
func randomKeys(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	keys := make([][]byte, n)
	for i := range keys {
		k := make([]byte, 16)
		for j := range k {
			k[j] = byte(rng.Uint32())
		}
		keys[i] = k
	}
	return keys
}

// memberSets are the member sets most tests run over: the name styles clusters
// use (StatefulSet ordinals past 10, addresses, words) and sizes 1 to 12.
var memberSets = []struct {
	name    string
	members []string
}{
	{"single", []string{"solo"}},
	{"three", []string{"node-a", "node-b", "node-c"}},
	{"statefulset-12", names("chatd-", 12)},
	{"addresses-5", []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946", "10.0.0.4:7946", "10.0.0.5:7946"}},
	{"prefixes", []string{"a", "a1", "a11", "a111", "b"}},
}

// TestDeterminism checks that the order in which a node learned of its peers,
// duplicates, empty names and the version never change placement: any two nodes
// that see the same member set agree on every owner.
func TestDeterminism(t *testing.T) {
	keys := randomKeys(5000, 1)
	for _, tc := range memberSets {
		t.Run(tc.name, func(t *testing.T) {
			want := New(Config{}, 1, tc.members)
			rng := rand.New(rand.NewPCG(7, 7))
			for i := range 20 {
				perm := slices.Clone(tc.members)
				rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
				if i%2 == 1 {
					perm = append(perm, "", perm[0]) // an empty name and a duplicate
				}
				got := New(Config{}, uint64(100+i), perm)
				if !slices.Equal(got.owners, want.owners) {
					t.Fatalf("order %v: partition table differs from order %v", perm, tc.members)
				}
				if got.Fingerprint() != want.Fingerprint() {
					t.Fatalf("order %v: fingerprint %x, want %x", perm, got.Fingerprint(), want.Fingerprint())
				}
				if !slices.Equal(got.Members(), want.Members()) {
					t.Fatalf("members %v, want %v", got.Members(), want.Members())
				}
				for _, k := range keys {
					if g, w := got.Owner(k), want.Owner(k); g != w {
						t.Fatalf("key %x: owner %q, want %q", k, g, w)
					}
				}
			}
		})
	}
}

// TestAgreesWithLocateKey checks that the precomputed table answers exactly what
// buraksezer/consistent's LocateKey answers, on a library ring built independently
// (members in reverse order) with the same hasher and config.
func TestAgreesWithLocateKey(t *testing.T) {
	keys := randomKeys(20000, 2)
	for _, cfg := range []Config{{}, {PartitionCount: 271, ReplicationFactor: 20}, {PartitionCount: 7, ReplicationFactor: 2, Load: 3}} {
		for _, tc := range memberSets {
			t.Run(fmt.Sprintf("%s/P%d", tc.name, cfg.PartitionCount), func(t *testing.T) {
				r := New(cfg, 1, tc.members)
				c := r.Config()
				if len(tc.members) > c.PartitionCount {
					t.Skip("the library cannot build a ring with more members than partitions")
				}
				var ms []consistent.Member
				for _, n := range slices.Backward(tc.members) {
					ms = append(ms, Member{Name: n})
				}
				lib := consistent.New(ms, consistent.Config{
					Hasher:            hasher{},
					PartitionCount:    c.PartitionCount,
					ReplicationFactor: c.ReplicationFactor,
					Load:              c.Load,
				})
				for _, k := range keys {
					if got, want := r.Owner(k), lib.LocateKey(k).(Member).Name; got != want {
						t.Fatalf("key %x: Owner %q, LocateKey %q", k, got, want)
					}
					if got, want := r.Partition(k), lib.FindPartitionID(k); got != want {
						t.Fatalf("key %x: Partition %d, FindPartitionID %d", k, got, want)
					}
				}
			})
		}
	}
}

// TestVirtualNodeKeysInjective pins the reason for vnodeSep: the library derives
// virtual nodes from name+index, which collides for "chatd-1" and "chatd-11"
// unless the identity ends in a separator.
func TestVirtualNodeKeysInjective(t *testing.T) {
	members := append(names("chatd-", 120), "a", "a1", "a#1", "a#", "#", "1", "11")
	vnodes := func(identity func(string) string) (collisions int) {
		seen := make(map[string]bool)
		for _, m := range members {
			for i := range DefaultReplicationFactor {
				k := fmt.Sprintf("%s%d", identity(m), i)
				if seen[k] {
					collisions++
				}
				seen[k] = true
			}
		}
		return collisions
	}
	if n := vnodes(func(n string) string { return Member{Name: n}.String() }); n != 0 {
		t.Fatalf("%d virtual node keys collide with the separator", n)
	}
	if n := vnodes(func(n string) string { return n }); n == 0 {
		t.Fatal("bare names no longer collide: is the separator still needed?")
	}
}

// TestEmptyRing checks that an empty ring, built or nil, owns nothing and that
// every accessor works on it.
func TestEmptyRing(t *testing.T) {
	for name, r := range map[string]*Ring{
		"nil":         nil,
		"no members":  New(Config{}, 3, nil),
		"empty names": New(Config{}, 3, []string{"", ""}),
	} {
		t.Run(name, func(t *testing.T) {
			var id [16]byte
			if o := r.Owner([]byte("k")); o != "" {
				t.Errorf("Owner = %q, want \"\"", o)
			}
			if o, h := r.RoomOwner(id), r.UserHome(id); o != "" || h != "" {
				t.Errorf("RoomOwner, UserHome = %q, %q, want \"\"", o, h)
			}
			if r.Len() != 0 || len(r.Members()) != 0 || r.Contains("") || r.Contains("x") {
				t.Errorf("Len %d Members %v, want none", r.Len(), r.Members())
			}
			if p := r.Partition([]byte("k")); p < 0 || p >= r.PartitionCount() {
				t.Errorf("Partition = %d, out of [0, %d)", p, r.PartitionCount())
			}
			if o := r.PartitionOwner(0); o != "" {
				t.Errorf("PartitionOwner(0) = %q", o)
			}
			if len(r.Loads()) != 0 {
				t.Errorf("Loads = %v", r.Loads())
			}
			_ = r.String()
			_ = r.LogValue()
		})
	}
	if New(Config{}, 0, nil).Fingerprint() != (*Ring)(nil).Fingerprint() {
		t.Error("a nil ring and an empty ring have different fingerprints")
	}
}

// TestSingleMember checks that one member owns every key.
func TestSingleMember(t *testing.T) {
	r := New(Config{}, 1, []string{"only"})
	for _, k := range randomKeys(1000, 3) {
		if o := r.Owner(k); o != "only" {
			t.Fatalf("Owner = %q", o)
		}
	}
	if l := r.Loads(); l["only"] != r.PartitionCount() {
		t.Fatalf("Loads = %v", l)
	}
}

// TestAccessors checks the small accessors of a built ring.
func TestAccessors(t *testing.T) {
	r := New(Config{PartitionCount: 31}, 42, []string{"c", "a", "b", "a"})
	if r.Version() != 42 || r.Len() != 3 || r.PartitionCount() != 31 {
		t.Fatalf("Version %d Len %d PartitionCount %d", r.Version(), r.Len(), r.PartitionCount())
	}
	if got := r.Members(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Members = %v", got)
	}
	r.Members()[0] = "changed"
	if r.Members()[0] != "a" {
		t.Fatal("Members returned the ring's own slice")
	}
	for _, tc := range []struct {
		name string
		want bool
	}{{"a", true}, {"c", true}, {"d", false}, {"", false}, {"a#", false}} {
		if got := r.Contains(tc.name); got != tc.want {
			t.Errorf("Contains(%q) = %v", tc.name, got)
		}
	}
	if o := r.PartitionOwner(-1) + r.PartitionOwner(31); o != "" {
		t.Errorf("PartitionOwner out of range = %q", o)
	}
	sum := 0
	for _, n := range r.Loads() {
		sum += n
	}
	if sum != 31 {
		t.Errorf("Loads sum to %d, want 31", sum)
	}
	if s := r.String(); !strings.Contains(s, "v42") || !strings.Contains(s, "3 members") {
		t.Errorf("String = %q", s)
	}
	if New(Config{PartitionCount: 31}, 1, []string{"a", "b"}).Fingerprint() == r.Fingerprint() ||
		New(Config{PartitionCount: 37}, 42, []string{"a", "b", "c"}).Fingerprint() == r.Fingerprint() {
		t.Error("fingerprint ignores the members or the config")
	}
}

// TestKeySpaces checks that rooms and users live in separate key spaces: with the
// same ID bytes, their keys differ, and over many IDs their placements are
// independent (they agree about as often as two random members would).
func TestKeySpaces(t *testing.T) {
	r := New(Config{}, 1, names("n", 5))
	same := 0
	const n = 20000
	for _, k := range randomKeys(n, 4) {
		id := [16]byte(k)
		if slices.Equal(RoomKey(id), UserKey(id)) {
			t.Fatal("RoomKey and UserKey are equal")
		}
		if r.RoomOwner(id) != r.Owner(RoomKey(id)) || r.UserHome(id) != r.Owner(UserKey(id)) {
			t.Fatal("RoomOwner or UserHome disagrees with Owner of its key")
		}
		if r.RoomPartition(id) != r.Partition(RoomKey(id)) || r.UserPartition(id) != r.Partition(UserKey(id)) {
			t.Fatal("RoomPartition or UserPartition disagrees with Partition of its key")
		}
		if r.RoomOwner(id) == r.UserHome(id) {
			same++
		}
	}
	// Independent placement over 5 members agrees about 1/5 of the time.
	if f := float64(same) / n; f > 0.3 {
		t.Fatalf("room and user of the same ID share an owner %.0f%% of the time", f*100)
	}
}

// TestMoreMembersThanPartitions checks the documented degraded mode: the first
// PartitionCount members in name order share the partitions, the rest own none,
// and New does not panic.
func TestMoreMembersThanPartitions(t *testing.T) {
	members := names("m", 10)
	r := New(Config{PartitionCount: 7}, 1, members)
	if r.Len() != 10 || !r.Contains("m9") {
		t.Fatalf("members %v", r.Members())
	}
	placed := slices.Sorted(slices.Values(members))[:7]
	for p := range 7 {
		if o := r.PartitionOwner(p); !slices.Contains(placed, o) {
			t.Fatalf("partition %d owned by %q, not one of %v", p, o, placed)
		}
	}
	if l := r.Loads(); len(l) != 10 || l["m9"] != 0 {
		t.Fatalf("Loads = %v", l)
	}
}

// TestConfig checks defaults and validation, and that New refuses a bad config.
func TestConfig(t *testing.T) {
	if got := New(Config{}, 0, nil).Config(); got != DefaultConfig() {
		t.Fatalf("zero Config resolves to %+v, want %+v", got, DefaultConfig())
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"default", DefaultConfig(), true},
		{"small", Config{PartitionCount: 1, ReplicationFactor: 2, Load: 1.01}, true},
		{"negative partitions", Config{PartitionCount: -1}, false},
		{"huge partitions", Config{PartitionCount: maxPartitionCount + 1}, false},
		{"one vnode", Config{ReplicationFactor: 1}, false},
		{"load 1", Config{Load: 1}, false},
		{"load below 1", Config{Load: 0.5}, false},
		{"load NaN", Config{Load: nan()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			defer func() {
				if p := recover(); (p == nil) != tc.ok {
					t.Fatalf("New panicked with %v, want ok=%v", p, tc.ok)
				}
			}()
			New(tc.cfg, 1, names("n", 3))
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
