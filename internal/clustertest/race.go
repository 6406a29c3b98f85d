//go:build race

package clustertest

func init() { raceEnabled = true }
