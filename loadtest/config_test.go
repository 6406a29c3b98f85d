package loadtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

var oneTarget = []Target{{URL: "http://127.0.0.1:1", Loopback: true, IPv4Loopback: true}}

func TestNormalizePresets(t *testing.T) {
	for _, sc := range Scenarios {
		c := Config{Scenario: sc.Name, Targets: oneTarget}
		if err := c.normalize(); err != nil {
			t.Fatalf("%s preset: %v", sc.Name, err)
		}
		if c.Conns != sc.Conns || c.Rate != sc.Rate || c.Duration != sc.Duration || c.Rooms != sc.Rooms(sc.Conns) {
			t.Errorf("%s: got conns %d rate %g duration %s rooms %d", sc.Name, c.Conns, c.Rate, c.Duration, c.Rooms)
		}
		if c.publishes() && c.MaxMessages != int64(c.Rate*c.Duration.Seconds()) {
			t.Errorf("%s: max messages %d, want rate*duration", sc.Name, c.MaxMessages)
		}
	}
	c := Config{Scenario: Idle, Targets: oneTarget, Duration: -1, Conns: 12000}
	if err := c.normalize(); err != nil || c.Duration != 0 || c.Sources != 3 || c.Rooms != 12 {
		t.Fatalf("explicit no-hold: %v duration %s sources %d rooms %d", err, c.Duration, c.Sources, c.Rooms)
	}
	c = Config{Scenario: Fanout, Targets: oneTarget, Rooms: 7}
	if err := c.normalize(); err != nil || c.Rooms != 1 {
		t.Fatalf("fanout has one room: %v %d", err, c.Rooms)
	}
}

func TestNormalizeRejects(t *testing.T) {
	for name, c := range map[string]Config{
		"unknown scenario": {Scenario: "nope"},
		"no targets":       {Scenario: Idle},
		"huge":             {Scenario: Idle, Conns: maxConns + 1},
		"rooms > conns":    {Scenario: Rooms, Conns: 10, Rooms: 11},
		"negative rate":    {Scenario: Fanout, Rate: -1},
		"too long":         {Scenario: Idle, Duration: 25 * time.Hour},
		"conns per user":   {Scenario: Idle, ConnsPerUser: 101},
		"tiny messages":    {Scenario: Fanout, MessageSize: 8},
		"no duration":      {Scenario: Fanout, Duration: -1},
		"rate needs users": {Scenario: Rooms, Conns: 100, Rate: 200},
		"publishers":       {Scenario: Fanout, Conns: 10, Publishers: 11},
		"warm-up too long": {Scenario: Fanout, Duration: time.Second, Warmup: time.Second},
		"negative warm-up": {Scenario: Fanout, Duration: time.Second, Warmup: -time.Second},
	} {
		if c.Targets == nil && name != "no targets" {
			c.Targets = oneTarget
		}
		if err := c.normalize(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRunRefusesBadConfigBeforeAnyRequest(t *testing.T) {
	_, err := Run(context.Background(), Config{Scenario: "flood", Targets: oneTarget})
	if err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("err %v", err)
	}
}

func TestNormalizeIsIdempotent(t *testing.T) {
	c := Config{Scenario: Idle, Targets: oneTarget, Duration: -1}
	for range 2 {
		if err := c.Normalize(); err != nil || c.Duration != 0 {
			t.Fatalf("duration %s err %v: an explicit no-hold must survive a second Normalize", c.Duration, err)
		}
	}
}
