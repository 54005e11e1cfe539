package workerpool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeResolver answers from a map that tests change between resolutions.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
	fail  map[string]bool
}

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[host] {
		return nil, errors.New("no such host")
	}
	return append([]string(nil), f.hosts[host]...), nil
}

func (f *fakeResolver) set(host string, ips []string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[host] = ips
	f.fail[host] = fail
}

// recordMembers remembers every membership it was given.
type recordMembers struct {
	mu  sync.Mutex
	all [][]string
}

func (r *recordMembers) Set(addrs []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, addrs)
	return nil
}

func (r *recordMembers) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		return nil
	}
	return r.all[len(r.all)-1]
}

func TestDNSResolve(t *testing.T) {
	res := &fakeResolver{hosts: map[string][]string{}, fail: map[string]bool{}}
	members := &recordMembers{}
	d := NewDNS(DNSOptions{
		Names:    []string{"workers.svc:8816"},
		Static:   []string{"10.0.0.9:8816"},
		Resolver: res,
		Members:  members,
	})
	ctx := context.Background()
	steps := []struct {
		name    string
		ips     []string
		fail    bool
		want    []string
		wantErr bool
		sets    int
	}{
		{"initial", []string{"10.0.0.2", "10.0.0.1"}, false, []string{"10.0.0.1:8816", "10.0.0.2:8816", "10.0.0.9:8816"}, false, 1},
		{"unchanged is not re-set", []string{"10.0.0.1", "10.0.0.2"}, false, []string{"10.0.0.1:8816", "10.0.0.2:8816", "10.0.0.9:8816"}, false, 1},
		{"scale up", []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, false, []string{"10.0.0.1:8816", "10.0.0.2:8816", "10.0.0.3:8816", "10.0.0.9:8816"}, false, 2},
		{"lookup failure keeps the last answer", nil, true, []string{"10.0.0.1:8816", "10.0.0.2:8816", "10.0.0.3:8816", "10.0.0.9:8816"}, true, 2},
		{"scale down", []string{"10.0.0.3"}, false, []string{"10.0.0.3:8816", "10.0.0.9:8816"}, false, 3},
		{"no pods", []string{}, false, []string{"10.0.0.9:8816"}, false, 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res.set("workers.svc", st.ips, st.fail)
			err := d.Resolve(ctx)
			if st.wantErr {
				require.ErrorContains(t, err, "workers.svc")
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, st.want, members.last())
			require.Len(t, members.all, st.sets)
		})
	}

	t.Run("bad name", func(t *testing.T) {
		d := NewDNS(DNSOptions{Names: []string{"no-port"}, Resolver: res, Members: &recordMembers{}})
		require.ErrorContains(t, d.Resolve(ctx), "name:port")
	})
}

func TestDNSRunReResolves(t *testing.T) {
	res := &fakeResolver{hosts: map[string][]string{"w": {"10.1.0.1"}}, fail: map[string]bool{}}
	members := &recordMembers{}
	d := NewDNS(DNSOptions{Names: []string{"w:1"}, Interval: 10 * time.Millisecond, Resolver: res, Members: members})
	require.NoError(t, d.Resolve(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	res.set("w", []string{"10.1.0.1", "10.1.0.2"}, false)
	require.Eventually(t, func() bool { return len(members.last()) == 2 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
}
