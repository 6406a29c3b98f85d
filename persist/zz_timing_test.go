package persist

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testsvc"
)

func TestTimingTmp(t *testing.T) {
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		url := testsvc.PostgresURL(t)
		t1 := time.Now()
		s, err := OpenPostgres(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		s.Close()
		t.Logf("create db %v, open+migrate %v", t1.Sub(t0), t2.Sub(t1))
	}
	for i := 0; i < 3; i++ {
		t1 := time.Now()
		s, err := OpenEmbedded(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("embedded open+migrate %v", time.Since(t1))
		s.Close()
	}
}
