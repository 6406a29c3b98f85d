package ring

import (
	"fmt"
	"sort"
	"testing"
)

func TestExplore(t *testing.T) {
	for _, p := range []int{1021} {
	for _, rf := range []int{50, 100, 200} {
		for _, n := range []int{3, 5, 10, 30} {
			var mins []float64
			sumStay, sumMoved := 0, 0
			trials := 200
			for tr := 0; tr < trials; tr++ {
				var names []string
				for i := 0; i < n; i++ {
					names = append(names, fmt.Sprintf("n%d-%d", tr, i))
				}
				cfg := Config{ReplicationFactor: rf, PartitionCount: p}
				a := New(cfg, 1, names)
				ideal := float64(p) / float64(n)
				mn := 10.0
				for _, l := range a.Loads() {
					mn = min(mn, float64(l)/ideal)
				}
				mins = append(mins, mn)
				add := fmt.Sprintf("n%d-%d", tr, n)
				b := New(cfg, 2, append(names, add))
				mv := MovedPartitions(a, b)
				stay := 0
				for _, m := range mv {
					if m.To != add {
						stay++
					}
				}
				sumStay += stay
				sumMoved += len(mv)
			}
			sort.Float64s(mins)
			fmt.Printf("P=%4d rf=%3d n=%2d least-loaded share/ideal: worst %.2f p10 %.2f median %.2f | join moved %.3f (ideal %.3f) stayer-stayer %.4f\n",
				p, rf, n, mins[0], mins[trials/10], mins[trials/2], float64(sumMoved)/float64(trials*p), 1/float64(n+1), float64(sumStay)/float64(trials*p))
		}
	}
	}
}
