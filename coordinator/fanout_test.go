package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFanOut(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		n       int
		limit   int
		failAt  int // -1: none
		wantErr error
	}{
		{"all succeed, results in order", 20, 3, -1, nil},
		{"no limit", 5, 0, -1, nil},
		{"nothing to do", 0, 2, -1, nil},
		{"first error wins and cancels the rest", 10, 2, 3, boom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var running, peak atomic.Int32
			// The first calls wait until as many run at once as the limit
			// allows (all n without one): the peak must reach the limit,
			// not just stay under it.
			want := int32(tc.n)
			if tc.limit > 0 {
				want = int32(min(tc.limit, tc.n))
			}
			full := make(chan struct{})
			var fullOnce sync.Once
			res, err := fanOut(context.Background(), tc.limit, tc.n, func(ctx context.Context, i int) (int, error) {
				cur := running.Add(1)
				defer running.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				if cur >= want {
					fullOnce.Do(func() { close(full) })
				}
				select {
				case <-full:
				case <-time.After(5 * time.Second):
					return 0, fmt.Errorf("only %d of %d calls ran at once", peak.Load(), want)
				}
				if i == tc.failAt {
					return 0, boom
				}
				if tc.failAt >= 0 && i > tc.failAt {
					// Later calls see the cancellation.
					select {
					case <-ctx.Done():
						return 0, ctx.Err()
					case <-time.After(5 * time.Second):
						return 0, errors.New("not canceled")
					}
				}
				return i * i, nil
			})
			require.Len(t, res, tc.n)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			for i, r := range res {
				require.Equal(t, i*i, r)
			}
			if tc.n > 0 {
				require.Equal(t, want, peak.Load(), "calls at once")
			}
		})
	}
}
