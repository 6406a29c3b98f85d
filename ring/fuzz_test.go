package ring

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzOwner checks that no key and no member set makes a lookup panic, that the
// owner of a key is always a member (or "" for an empty ring), that the partition
// is in range and that the answer does not depend on member order.
func FuzzOwner(f *testing.F) {
	f.Add([]byte("room"), "a,b,c", uint16(0))
	f.Add([]byte{}, "", uint16(1))
	f.Add([]byte{0xff, 0, 0xff}, "chatd-1,chatd-11,chatd-110,,chatd-1", uint16(7))
	f.Add(bytes.Repeat([]byte{'x'}, 1000), "#,##,1#,#1", uint16(3))
	f.Fuzz(func(t *testing.T, key []byte, members string, partitions uint16) {
		cfg := Config{PartitionCount: 1 + int(partitions%2048), ReplicationFactor: 2 + int(partitions%5)}
		list := splitMembers(members)
		r := New(cfg, 1, list)
		owner := r.Owner(key)
		if r.Len() == 0 {
			if owner != "" {
				t.Fatalf("empty ring: owner %q", owner)
			}
		} else if !r.Contains(owner) {
			t.Fatalf("owner %q is not a member of %v", owner, r.Members())
		}
		if p := r.Partition(key); p < 0 || p >= cfg.PartitionCount || r.PartitionOwner(p) != owner {
			t.Fatalf("partition %d of %d owned by %q, Owner %q", p, cfg.PartitionCount, r.PartitionOwner(p), owner)
		}
		rev := slices.Clone(list)
		slices.Reverse(rev)
		if o := New(cfg, 2, rev).Owner(key); o != owner {
			t.Fatalf("reversed members: owner %q, want %q", o, owner)
		}
		if len(key) >= 16 {
			id := [16]byte(key)
			if h := r.UserHome(id); h != "" && !r.Contains(h) {
				t.Fatalf("UserHome %q is not a member", h)
			}
		}
	})
}

// splitMembers splits a comma-separated list into at most 64 names, so that the
// fuzzer explores names (empty, duplicate, separator-laden) rather than sizes.
func splitMembers(s string) []string {
	if s == "" {
		return nil
	}
	list := strings.Split(s, ",")
	return list[:min(len(list), 64)]
}
