package flightserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/metadata"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/resultcache"
)

// ResultCacheHeader is the request header a client sets on GetFlightInfo
// to keep a query out of the result cache: "off" neither reads nor fills
// it ("on", the default, does both).
const ResultCacheHeader = "x-quiver-result-cache"

// ErrBadResultCache is a ResultCacheHeader that is neither on nor off.
var ErrBadResultCache = errkind.New(errkind.Invalid, "invalid "+ResultCacheHeader+" header")

// StrategyCached is system.queries' strategy of a query answered from
// the result cache.
const StrategyCached = "result_cache"

// cacheLookup is a statement's way through the result cache: the key
// the planner's probe asked for and the entry it found.
type cacheLookup struct {
	full  func(planKey string) string
	asked string // the full key probed; "" when the planner never asked
	entry *resultcache.Entry
	cache *resultcache.Cache
}

// key is the cache key to fill a plan's result under, "" for none (no
// cache, turned off, or a plan whose result may change by itself), and
// counts a statement that did not go through the cache.
func (l *cacheLookup) key(plan *planner.Plan) string {
	if l == nil {
		return ""
	}
	if l.asked == "" || plan.Analyze || plan.Explain || plan.Local {
		l.cache.Bypassed()
		return ""
	}
	return l.asked
}

// resultProbe returns the context to plan under, so that the planner
// asks the result cache as soon as the statement's CacheKey is known
// (planner.WithResultProbe): a hit skips the fragment planning. The key
// adds the bind parameters and the compression to the plan's. The
// lookup is nil without a cache or when the client turned it off.
func (s *Server) resultProbe(ctx context.Context, args []fragwire.Arg, codec fmt.Stringer) (context.Context, *cacheLookup, error) {
	c := s.opts.ResultCache
	if c == nil {
		return ctx, nil, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(ResultCacheHeader); len(v) > 0 {
		switch strings.ToLower(strings.TrimSpace(v[0])) {
		case "off":
			c.Bypassed()
			return ctx, nil, nil
		case "on", "":
		default:
			return nil, nil, fmt.Errorf("%w: %q: want on or off", ErrBadResultCache, v[0])
		}
	}
	l := &cacheLookup{cache: c, full: func(planKey string) string {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%d", planKey, codec, len(args))
		for _, a := range args {
			fmt.Fprintf(h, "\x00%s\x00%d:%s", a.Type, len(a.Value), a.Value)
		}
		return hex.EncodeToString(h.Sum(nil))
	}}
	probe := func(planKey string) bool {
		l.asked = l.full(planKey)
		l.entry, _ = c.Get(l.asked)
		return l.entry != nil
	}
	return planner.WithResultProbe(ctx, probe), l, nil
}

// fill collects the messages of a query's endpoints as they are sent;
// when every endpoint has been sent whole, they become a cache entry.
type fill struct {
	cache  *resultcache.Cache
	key    string
	schema *arrow.Schema
	mu     sync.Mutex
	slots  [][]*flight.FlightData
	done   []bool
	left   int
	bytes  int64
	// dropped is set once the result cannot be cached (too big, or an
	// endpoint failed).
	dropped bool
}

func newFill(c *resultcache.Cache, key string, endpoints int, schema *arrow.Schema) *fill {
	return &fill{cache: c, key: key, schema: schema, slots: make([][]*flight.FlightData, endpoints), done: make([]bool, endpoints), left: endpoints}
}

// writer captures endpoint i's messages on their way to next.
func (f *fill) writer(i int, next flight.DataStreamWriter) *fillWriter {
	return &fillWriter{f: f, i: i, next: next}
}

// finish is endpoint i's end: with err nil its messages are whole.
func (f *fill) finish(i int, msgs []*flight.FlightData, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropped || f.done[i] {
		return
	}
	if err != nil {
		f.dropped, f.slots = true, nil
		return
	}
	f.slots[i], f.done[i] = msgs, true
	if f.left--; f.left == 0 {
		f.cache.Put(f.key, resultcache.NewEntry(f.schema, f.slots))
		f.slots = nil
	}
}

// add charges a message to the fill; false once the result is too big
// to keep.
func (f *fill) add(n int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropped {
		return false
	}
	if f.bytes += n; f.bytes > f.cache.MaxEntryBytes() {
		f.dropped, f.slots = true, nil
		return false
	}
	return true
}

// fillWriter copies every message it passes on (the senders reuse their
// buffers) until the fill gives up.
type fillWriter struct {
	f    *fill
	i    int
	next flight.DataStreamWriter
	msgs []*flight.FlightData
	off  bool
}

func (w *fillWriter) Send(fd *flight.FlightData) error {
	if err := w.next.Send(fd); err != nil {
		return err
	}
	if !w.off {
		if w.f.add(resultcache.MessageSize(fd)) {
			w.msgs = append(w.msgs, cloneData(fd))
		} else {
			w.off, w.msgs = true, nil
		}
	}
	return nil
}

// end reports the endpoint's stream's end to the fill.
func (w *fillWriter) end(err error) {
	if w.off && err == nil {
		return
	}
	w.f.finish(w.i, w.msgs, err)
}

// sendCached replays a cached endpoint, counting its rows to the query
// as a relay does (system.queries, --max-result-rows).
func sendCached(q *query, out flight.DataStreamWriter) error {
	for _, m := range q.cached {
		n, ok, err := fragwire.BatchRows(m)
		if err != nil {
			return err
		}
		if ok && n > 0 {
			if err := q.live.addRows(n); err != nil {
				return err
			}
		}
		if err := out.Send(m); err != nil {
			return err
		}
	}
	return nil
}
