package e2e

import (
	"testing"
)

// runAxe is replaced below once axe-core is wired.
func runAxe(t *testing.T, tb *tab, screen string) {}
