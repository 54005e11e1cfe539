package harness

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// permanentError is an error Poll returns at once instead of trying again.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that no further try can fix (the process
// being waited on has exited, say): Poll returns it at once.
func Permanent(err error) error { return permanentError{err} }

// Poll calls try every tick until it returns nil, and returns nil. It
// returns a Permanent error of try's at once (unwrapped), and when ctx ends
// first, ctx's error together with the last error try returned. It is the
// one polling loop of the harness: every wait on another process's state
// goes through it or through require.Eventually.
func Poll(ctx context.Context, tick time.Duration, try func() error) error {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		err := try()
		if err == nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return p.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %w", ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// PollFor is Poll with a timeout instead of a context.
func PollFor(timeout, tick time.Duration, try func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Poll(ctx, tick, try)
}

// WaitSteady polls value every tick until it reports the same number on
// `polls` polls in a row, and returns that number; the test fails after
// timeout. It is for a state nothing announces: a stream that flow control
// has stopped shows only as a row count that no longer moves. A count
// that pauses for a tick on a busy machine passes for steady, so callers
// for whom that matters ask for more polls. value's ok false (not there
// yet) restarts the count.
func WaitSteady(t testing.TB, timeout, tick time.Duration, polls int, value func() (n int64, ok bool)) int64 {
	t.Helper()
	var last int64
	same := 0
	err := PollFor(timeout, tick, func() error {
		n, ok := value()
		switch {
		case !ok:
			same = 0
			return errors.New("no value yet")
		case same > 0 && n == last:
			same++
		default:
			last, same = n, 1
		}
		if same < polls {
			return fmt.Errorf("%d seen %d times in a row, want %d", n, same, polls)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("value never steady for %d polls %s apart: %v", polls, tick, err)
	}
	return last
}

// CPUDuring is the CPU time process pid uses over the next window of wall
// time. Wall time must pass here: "burns no CPU" is a rate, and a rate
// needs an interval; no event marks a process that stopped working.
func CPUDuring(pid int, window time.Duration) (time.Duration, error) {
	before, err := CPUTime(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(window)
	after, err := CPUTime(pid)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}
