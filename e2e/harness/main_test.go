package harness

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks the harness leaves no goroutine behind: process waiters
// end with their process, clients are closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
