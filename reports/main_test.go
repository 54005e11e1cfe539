package reports

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every scheduler goroutine ends with its scheduler.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
