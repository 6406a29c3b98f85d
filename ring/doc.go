// Package ring is the consistent-hash ring (buraksezer/consistent) over the live
// members: owner lookup for rooms and users' home nodes, and the set of keys whose
// owner changed between two rings. It knows nothing about networking.
//
// It arrives with the cluster (issue 4); this file reserves its place in the
// architecture of DESIGN.md.
package ring
