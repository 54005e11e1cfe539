package workerpool

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLocalRestartsExitedWorkers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var changes [][]string
	// A stand-in worker: announces an address, lives briefly, exits. It
	// lives 2s, so that on a loaded machine the first one is still there
	// when StartLocal returns with the second.
	l, err := StartLocal(ctx, LocalOptions{
		N:       2,
		Command: []string{"/bin/sh", "-c", `echo "` + ListeningPrefix + `127.0.0.1:$$"; sleep 2`},
		Env:     os.Environ(),
		OnChange: func(addrs []string) {
			mu.Lock()
			changes = append(changes, addrs)
			mu.Unlock()
		},
	})
	require.NoError(t, err)
	require.Len(t, l.Addrs(), 2)
	first := l.Addrs()
	require.Eventually(t, func() bool {
		now := l.Addrs()
		return len(now) == 2 && now[0] != first[0] && now[1] != first[1]
	}, 10*time.Second, 20*time.Millisecond, "both workers restarted with new addresses")
	cancel()
	l.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(changes), 2)
}

func TestLocalFailsWhenWorkerCannotStart(t *testing.T) {
	_, err := StartLocal(context.Background(), LocalOptions{
		N:       1,
		Command: []string{"/bin/sh", "-c", "echo bad config >&2; exit 3"},
		Env:     os.Environ(),
	})
	require.ErrorContains(t, err, "exited before listening")
}

func TestLocalRestartsRecycledWorker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A worker that recycles itself: exits non-zero after a while.
	l, err := StartLocal(ctx, LocalOptions{
		N:       1,
		Command: []string{"/bin/sh", "-c", `echo "` + ListeningPrefix + `127.0.0.1:$$"; sleep 2; exit 1`},
		Env:     os.Environ(),
	})
	require.NoError(t, err)
	first := l.Addrs()
	require.Len(t, first, 1)
	require.Eventually(t, func() bool {
		now := l.Addrs()
		return len(now) == 1 && now[0] != first[0]
	}, 20*time.Second, 20*time.Millisecond, "restarted after exiting 1")
	cancel()
	l.Wait()
}

func TestLocalStopLetsWorkersDrain(t *testing.T) {
	cases := []struct {
		name    string
		script  string
		atLeast time.Duration
		atMost  time.Duration
	}{
		// Drains for 700ms after SIGTERM, then exits: Wait waits for it.
		{"drains", `trap 'sleep 0.7; exit 0' TERM; echo "` + ListeningPrefix + `127.0.0.1:$$"; while :; do sleep 0.05; done`, 700 * time.Millisecond, 5 * time.Second},
		// Ignores SIGTERM: killed after StopTimeout.
		{"killed after the stop timeout", `trap '' TERM; echo "` + ListeningPrefix + `127.0.0.1:$$"; while :; do sleep 0.05; done`, 1500 * time.Millisecond, 8 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l, err := StartLocal(ctx, LocalOptions{
				N: 1, Command: []string{"/bin/sh", "-c", tc.script}, Env: os.Environ(), StopTimeout: 1500 * time.Millisecond,
			})
			require.NoError(t, err)
			start := time.Now()
			cancel()
			l.Wait()
			took := time.Since(start)
			require.GreaterOrEqual(t, took, tc.atLeast)
			require.Less(t, took, tc.atMost)
		})
	}
}
