package resultcache

import (
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// entry is one endpoint of one message of about n bytes.
func entry(n int) *Entry {
	return NewEntry(nil, [][]*flight.FlightData{{{DataBody: make([]byte, n-64)}}})
}

// TestBounds: overfilled, the cache evicts the least recently used
// entries and never holds more than MaxBytes; an entry over
// MaxEntryBytes is not kept.
func TestBounds(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := New(Options{MaxBytes: 10_000, MaxEntryBytes: 3_000, Registerer: reg})
	require.False(t, c.Put("big", entry(3_001)), "over the entry bound")
	for i := range 20 {
		require.True(t, c.Put(fmt.Sprint(i), entry(1_000)))
		if i == 5 {
			_, ok := c.Get("0") // 0 is used again: it outlives 1…
			require.True(t, ok)
		}
		used, _ := c.Stats()
		require.LessOrEqual(t, used, int64(10_000))
	}
	used, n := c.Stats()
	require.Equal(t, int64(10_000), used)
	require.Equal(t, 10, n)
	for i := range 10 {
		_, ok := c.Get(fmt.Sprint(i))
		require.False(t, ok, "%d was evicted", i)
	}
	for i := 10; i < 20; i++ {
		_, ok := c.Get(fmt.Sprint(i))
		require.True(t, ok, "%d is kept", i)
	}
	require.Equal(t, 10.0, testutil.ToFloat64(c.evictions))
	require.Equal(t, 10_000.0, testutil.ToFloat64(c.bytes))
	require.Equal(t, 10.0, testutil.ToFloat64(c.count))
	require.Equal(t, 11.0, testutil.ToFloat64(c.lookups.WithLabelValues(Hit)))
	require.Equal(t, 10.0, testutil.ToFloat64(c.lookups.WithLabelValues(Miss)))

	// A key put twice keeps its first entry.
	first, _ := c.Get("19")
	require.True(t, c.Put("19", entry(2_000)))
	again, _ := c.Get("19")
	require.Same(t, first, again)
	require.Equal(t, int64(1_000), again.Size())
}

func TestDefaultEntryBound(t *testing.T) {
	c := New(Options{MaxBytes: 8_000})
	require.Equal(t, int64(1_000), c.MaxEntryBytes())
	require.False(t, c.Put("a", entry(1_001)))
	require.True(t, c.Put("a", entry(1_000)))
}

func TestConcurrent(t *testing.T) {
	c := New(Options{MaxBytes: 50_000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 97)
				if _, ok := c.Get(k); !ok {
					c.Put(k, entry(500+i%500))
				}
			}
		})
	}
	wg.Wait()
	used, _ := c.Stats()
	require.LessOrEqual(t, used, int64(50_000))
}
