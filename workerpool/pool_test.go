package workerpool

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthServer serves only the gRPC health service, with a switchable status.
func healthServer(t *testing.T) (string, *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String(), hs
}

func TestPoolPick(t *testing.T) {
	p := New(Options{HealthInterval: -1})
	defer p.Close()
	_, err := p.Pick("", nil)
	require.ErrorIs(t, err, ErrNoWorkers)
	require.NoError(t, p.Set([]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}))

	cases := []struct {
		name    string
		prefer  string
		exclude map[string]bool
		oneOf   []string
	}{
		{"preferred", "127.0.0.1:2", nil, []string{"127.0.0.1:2"}},
		{"preferred but excluded", "127.0.0.1:2", map[string]bool{"127.0.0.1:2": true, "127.0.0.1:1": true}, []string{"127.0.0.1:3"}},
		{"unknown preference", "10.9.9.9:1", map[string]bool{"127.0.0.1:1": true, "127.0.0.1:3": true}, []string{"127.0.0.1:2"}},
		{"all excluded falls back to a healthy one", "", map[string]bool{"127.0.0.1:1": true, "127.0.0.1:2": true, "127.0.0.1:3": true}, []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := p.Pick(tc.prefer, tc.exclude)
			require.NoError(t, err)
			require.Contains(t, tc.oneOf, c.Addr)
		})
	}
	a, err := p.Pick("", nil)
	require.NoError(t, err)
	b, err := p.Pick("", nil)
	require.NoError(t, err)
	require.NotEqual(t, a.Addr, b.Addr, "round robin")
	require.NoError(t, p.Set([]string{"127.0.0.1:2"}))
	require.Equal(t, []string{"127.0.0.1:2"}, p.Addrs())
}

func TestPoolHealth(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := New(Options{HealthInterval: 20 * time.Millisecond, HealthTimeout: 500 * time.Millisecond, Registerer: reg})
	defer p.Close()
	good, hs := healthServer(t)
	dead := "127.0.0.1:1"
	changed := p.Changed()
	require.NoError(t, p.Set([]string{good, dead}))
	<-changed

	require.Eventually(t, func() bool {
		h := p.Healthy()
		return len(h) == 1 && h[0] == good
	}, 5*time.Second, 10*time.Millisecond, "the dead address is found unhealthy at once")
	require.Equal(t, 1.0, testutil.ToFloat64(p.workers.WithLabelValues("healthy")))
	require.Equal(t, 1.0, testutil.ToFloat64(p.workers.WithLabelValues("unhealthy")))
	for range 5 {
		c, err := p.Pick(dead, nil)
		require.NoError(t, err)
		require.Equal(t, good, c.Addr, "unhealthy workers are skipped, even when preferred")
	}

	t.Run("not serving, then serving again", func(t *testing.T) {
		hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		require.Eventually(t, func() bool { return len(p.Healthy()) == 0 }, 5*time.Second, 10*time.Millisecond)
		_, err := p.Pick("", nil)
		require.ErrorIs(t, err, ErrNoWorkers)
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		require.Eventually(t, func() bool { return len(p.Healthy()) == 1 }, 5*time.Second, 10*time.Millisecond)
	})

	t.Run("check on demand", func(t *testing.T) {
		require.True(t, p.Check(context.Background(), good))
		require.False(t, p.Check(context.Background(), dead))
		require.False(t, p.Check(context.Background(), "not-a-member:1"))
	})
}

// TestPoolReady: a member joins healthy for Pick, but the pool is ready
// only once one has answered a check as serving.
func TestPoolReady(t *testing.T) {
	// silent accepts connections and never answers: a check of it hangs
	// (HealthTimeout is long), so its member stays unchecked.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	silent := l.Addr().String()

	p := New(Options{HealthInterval: time.Hour, HealthTimeout: time.Hour})
	defer p.Close()
	require.NoError(t, p.Set([]string{silent}))
	require.Equal(t, []string{silent}, p.Healthy(), "healthy for Pick before its first check")
	require.False(t, p.Ready(), "not ready before a check answered")

	good, _ := healthServer(t)
	require.NoError(t, p.Set([]string{silent, good}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.True(t, p.Check(ctx, good))
	require.True(t, p.Ready(), "ready once a worker answered")

	unchecked := New(Options{HealthInterval: -1})
	defer unchecked.Close()
	require.False(t, unchecked.Ready(), "no members")
	require.NoError(t, unchecked.Set([]string{"127.0.0.1:1"}))
	require.True(t, unchecked.Ready(), "without health checks a member is enough")
}

func TestRemovedWorkerFailsInsteadOfPanicking(t *testing.T) {
	p := New(Options{HealthInterval: -1})
	defer p.Close()
	require.NoError(t, p.Set([]string{"127.0.0.1:1"}))
	c, err := p.Pick("", nil)
	require.NoError(t, err)
	// The member leaves while a fragment still holds its connection.
	require.NoError(t, p.Set(nil))
	_, err = c.DoGet(context.Background(), []byte("ticket"))
	require.Error(t, err)
}
