package loadtest

import "testing"

func TestClientJudge(t *testing.T) {
	cases := []struct {
		name string
		c    Client
		want bool
	}{
		{"idle", Client{CPUSeconds: 1, WallSeconds: 10, Cores: 2, LagP99: 0.1, SendLagP99: 0.5}, false},
		{"most of the machine", Client{CPUSeconds: 17, WallSeconds: 10, Cores: 2}, true},
		{"timers late", Client{CPUSeconds: 1, WallSeconds: 10, Cores: 2, LagP99: 11}, true},
		{"sends late", Client{CPUSeconds: 1, WallSeconds: 10, Cores: 2, LagP99: 0.1, SendLagP99: 25}, true},
	}
	for _, tc := range cases {
		tc.c.judge()
		if tc.c.Saturated != tc.want {
			t.Errorf("%s: saturated %v, want %v (%+v)", tc.name, tc.c.Saturated, tc.want, tc.c)
		}
	}
}
