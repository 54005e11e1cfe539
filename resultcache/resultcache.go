// Package resultcache keeps the results of deterministic statements, as
// the Flight messages their endpoints streamed, so that a repeated
// statement is answered without planning fragments or touching a worker.
//
// An entry is keyed by what its result depends on (planner.Plan.CacheKey:
// the policy-rewritten statement and the pinned snapshot; plus the bind
// parameters and the IPC compression, which the server adds): a new or
// changed file, another policy or another parameter is another key, never
// a stale hit. Entries are immutable once put; the cache is bounded in
// bytes and evicts the least recently used.
package resultcache

import (
	"container/list"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Entry is a cached result: each endpoint's messages in the order they
// were sent (schema first). Its messages are shared by every reader and
// must not be changed.
type Entry struct {
	// Schema is the result's, as the query's FlightInfo announced it.
	Schema    *arrow.Schema
	Endpoints [][]*flight.FlightData
	size      int64
}

// Size is the bytes the entry holds.
func (e *Entry) Size() int64 { return e.size }

// NewEntry builds an entry of the endpoints' messages.
func NewEntry(schema *arrow.Schema, endpoints [][]*flight.FlightData) *Entry {
	e := &Entry{Schema: schema, Endpoints: endpoints}
	for _, msgs := range endpoints {
		for _, m := range msgs {
			e.size += MessageSize(m)
		}
	}
	return e
}

// MessageSize is the bytes a message holds.
func MessageSize(m *flight.FlightData) int64 {
	return int64(len(m.DataHeader) + len(m.DataBody) + len(m.AppMetadata) + 64)
}

// Options configure a Cache.
type Options struct {
	// MaxBytes bounds the bytes of all entries.
	MaxBytes int64
	// MaxEntryBytes bounds one entry (default MaxBytes/8): a larger
	// result is not cached, so one big result cannot flush the rest.
	MaxEntryBytes int64
	// Dir, when set, is where entries evicted from memory go, up to
	// MaxDiskBytes (default 4×MaxBytes); the directory's earlier cache
	// files are removed at New.
	Dir          string
	MaxDiskBytes int64
	Registerer   prometheus.Registerer
}

// Cache is an LRU of entries bounded in bytes; safe for concurrent use.
type Cache struct {
	opts    Options
	mu      sync.Mutex
	used    int64
	order   *list.List // of *item, most recent first
	entries map[string]*list.Element

	disk *disk // nil: memory only

	lookups   *prometheus.CounterVec
	evictions prometheus.Counter
	bytes     prometheus.Gauge
	count     prometheus.Gauge
	diskBytes prometheus.Gauge
	spillErrs prometheus.Counter
}

type item struct {
	key   string
	entry *Entry
}

// Lookup results, the label of quiver_result_cache_lookups_total.
const (
	Hit    = "hit"
	Miss   = "miss"
	Bypass = "bypass" // not cacheable, or turned off by the client
)

// New returns an empty cache.
func New(opts Options) (*Cache, error) {
	if opts.MaxEntryBytes <= 0 || opts.MaxEntryBytes > opts.MaxBytes {
		opts.MaxEntryBytes = opts.MaxBytes / 8
	}
	f := promauto.With(opts.Registerer)
	c := &Cache{
		opts: opts, order: list.New(), entries: map[string]*list.Element{},
		lookups: f.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_result_cache_lookups_total",
			Help: "Statements looked up in the result cache: hit, miss, or bypass (not deterministic, or turned off by the client).",
		}, []string{"result"}),
		evictions: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_result_cache_evictions_total",
			Help: "Results evicted from the result cache's memory to make room (to its directory, when it has one).",
		}),
		bytes:     f.NewGauge(prometheus.GaugeOpts{Name: "quiver_result_cache_bytes", Help: "Bytes held by the result cache in memory."}),
		count:     f.NewGauge(prometheus.GaugeOpts{Name: "quiver_result_cache_entries", Help: "Results held by the result cache in memory."}),
		diskBytes: f.NewGauge(prometheus.GaugeOpts{Name: "quiver_result_cache_disk_bytes", Help: "Bytes of results the result cache spilled to its directory."}),
		spillErrs: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_result_cache_spill_errors_total",
			Help: "Evicted results that could not be written to the result cache's directory (dropped).",
		}),
	}
	if opts.Dir != "" {
		if opts.MaxDiskBytes <= 0 {
			opts.MaxDiskBytes = 4 * opts.MaxBytes
		}
		d, err := openDisk(opts.Dir, opts.MaxDiskBytes)
		if err != nil {
			return nil, err
		}
		c.disk = d
	}
	return c, nil
}

// Lookups counts lookups by result (Hit, Miss, Bypass).
func (c *Cache) Lookups() *prometheus.CounterVec { return c.lookups }

// MaxEntryBytes is the largest entry Put keeps.
func (c *Cache) MaxEntryBytes() int64 { return c.opts.MaxEntryBytes }

// Get returns the entry of key and counts a hit or a miss. An entry
// found on disk comes back into memory.
func (c *Cache) Get(key string) (*Entry, bool) {
	c.mu.Lock()
	el, ok := c.entries[key]
	if ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		c.lookups.WithLabelValues(Hit).Inc()
		return el.Value.(*item).entry, true
	}
	c.mu.Unlock()
	if c.disk != nil {
		if e, ok := c.disk.take(key); ok {
			c.Put(key, e)
			c.lookups.WithLabelValues(Hit).Inc()
			return e, true
		}
	}
	c.lookups.WithLabelValues(Miss).Inc()
	return nil, false
}

// Bypassed counts a statement that was not looked up.
func (c *Cache) Bypassed() { c.lookups.WithLabelValues(Bypass).Inc() }

// Put keeps e under key, evicting the least recently used entries to
// make room (to disk, when the cache has a directory); an entry over
// MaxEntryBytes is not kept (false). A key already present keeps its
// first entry: both are the same result.
func (c *Cache) Put(key string, e *Entry) bool {
	if e.size > c.opts.MaxEntryBytes {
		return false
	}
	var victims []*item
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return true
	}
	for c.used+e.size > c.opts.MaxBytes && c.order.Len() > 0 {
		last := c.order.Back()
		it := last.Value.(*item)
		c.order.Remove(last)
		delete(c.entries, it.key)
		c.used -= it.entry.size
		c.evictions.Inc()
		victims = append(victims, it)
	}
	c.entries[key] = c.order.PushFront(&item{key: key, entry: e})
	c.used += e.size
	c.bytes.Set(float64(c.used))
	c.count.Set(float64(len(c.entries)))
	c.mu.Unlock()
	if c.disk != nil {
		for _, it := range victims {
			if err := c.disk.put(it.key, it.entry); err != nil {
				c.spillErrs.Inc()
			}
		}
		used, _ := c.disk.stats()
		c.diskBytes.Set(float64(used))
	}
	return true
}

// Stats are the bytes and entries held in memory.
func (c *Cache) Stats() (bytes int64, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.entries)
}

// DiskStats are the bytes and entries spilled to the directory.
func (c *Cache) DiskStats() (bytes int64, entries int) {
	if c.disk == nil {
		return 0, 0
	}
	return c.disk.stats()
}
