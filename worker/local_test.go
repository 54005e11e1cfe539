package worker

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
	// A stand-in worker: announces an address, lives briefly, exits.
	l, err := StartLocal(ctx, LocalOptions{
		N:       2,
		Command: []string{"/bin/sh", "-c", `echo "` + ListeningPrefix + `127.0.0.1:$$"; sleep 0.3`},
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
