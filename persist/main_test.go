package persist

import (
	"testing"

	"github.com/chatd/chatd/internal/testsvc"
)

// TestMain stops the throwaway Postgres and Redis servers the tests start.
func TestMain(m *testing.M) { testsvc.Main(m) }
