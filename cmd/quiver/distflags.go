package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/flightwire"
)

// distFlags are serve's flags for distributed execution: worker
// discovery and health, fault tolerance, merge limits, result routing and
// the exchange spool.
type distFlags struct {
	workerDNS         listFlag
	dnsInterval       time.Duration
	healthInterval    time.Duration
	stallTimeout      time.Duration
	grace             time.Duration
	maxPartials       byteSize
	routing           string
	compression       string
	fragmentsParallel int
	spoolTTL          time.Duration
	broadcastRows     int64
	broadcastBytes    string
	finalGroups       int64
	correlatedRows    int64
	eagerRows         int64
	coLocate          bool
}

func (d *distFlags) register(fs *flag.FlagSet) {
	d.maxPartials = 1 << 30
	fs.Var(&d.workerDNS, "worker-dns", "name:port whose DNS addresses are the workers, re-resolved every --worker-dns-interval (a Kubernetes headless service; repeatable)")
	fs.DurationVar(&d.dnsInterval, "worker-dns-interval", 10*time.Second, "how often --worker-dns names are re-resolved")
	fs.DurationVar(&d.healthInterval, "worker-health-interval", 2*time.Second, "how often every worker's gRPC health service is checked")
	fs.DurationVar(&d.stallTimeout, "fragment-stall-timeout", 30*time.Second, "a worker that sends nothing for this long is given up on and its fragment retried")
	fs.DurationVar(&d.grace, "worker-grace", 10*time.Second, "how long a query waits for a healthy worker when there is none before failing with UNAVAILABLE")
	fs.Var(&d.maxPartials, "max-partials-bytes", "bound on the fragment results a merge plan holds on the coordinator, e.g. 1GiB, 512MiB")
	fs.StringVar(&d.routing, "result-routing", flightserver.RoutingProxy, "proxy: results flow through the coordinator; direct: clients fetch scan results from the workers (which must be reachable at their --worker addresses)")
	fs.IntVar(&d.fragmentsParallel, "merge-parallelism", 16, "fragments of one merge plan, or exchange producers of one query, run at once")
	fs.Int64Var(&d.broadcastRows, "broadcast-rows", 0, "a table with at least this many rows that the split table joins on equal keys is hash-partitioned with it through the spool (an exchange) instead of read whole by every fragment; 0 never exchanges")
	fs.StringVar(&d.broadcastBytes, "broadcast-bytes", "auto", "a table whose files the split table would have every fragment read (a join on equal keys) is repartitioned with it instead, through the spool, from this size: auto is an eighth of a worker's memory_limit (a hash table is several times its Parquet): a local worker's, or the smallest a remote worker reports; 0 never")
	fs.Int64Var(&d.finalGroups, "final-aggregate-groups", 1_000_000, "a GROUP BY whose keys hold about this many groups or more (footer min/max of integer and date keys, at most the rows read) finishes on the workers: partials hash-partitioned on the keys through the spool, one final fragment per part, instead of merged on the coordinator; 0 always merges on the coordinator")
	fs.Int64Var(&d.correlatedRows, "correlated-stage-rows", 10_000_000, "a correlated scalar subquery of a split query whose largest table has at least this many rows is computed once, grouped on its correlation keys, as a stage every fragment reads, instead of by every fragment over its whole tables; 0 always")
	fs.Int64Var(&d.eagerRows, "eager-stage-rows", 1_000_000, "a table with at least this many rows that a grouped derived table joins only to aggregate it (customer LEFT JOIN orders … count(o_orderkey)) is aggregated on its join key first, as a stage, instead of joined whole in every fragment; 0 always")
	fs.BoolVar(&d.coLocate, "co-locate", true, "a broadcast table joined on equal integer or date keys to the split table is read, in each fragment, only from its files whose footer min/max range meets that fragment's files of the split table (tables laid out by the same key); false reads it whole everywhere")
	fs.DurationVar(&d.spoolTTL, "spool-ttl", time.Hour, "exchange data of a query no coordinator has touched for this long (the warehouse's _spool/<query>/, left by a crash) is deleted; swept at start and every min(5m, ttl/2). Queries delete their own when they end")
	fs.StringVar(&d.compression, "ipc-compression", flightserver.CompressionAuto, "compression of result batches: auto (zstd for clients on other machines, except Java/JDBC ones), off, zstd or lz4 (every result); clients override it per query with the "+flightserver.CompressionHeader+" header")
}

func (d *distFlags) validate() error {
	if d.broadcastRows < 0 {
		return fmt.Errorf("--broadcast-rows must be 0 (never exchange) or more, got %d", d.broadcastRows)
	}
	if d.correlatedRows < 0 || d.eagerRows < 0 {
		return fmt.Errorf("--correlated-stage-rows and --eager-stage-rows must be 0 (always a stage) or more, got %d and %d", d.correlatedRows, d.eagerRows)
	}
	if d.finalGroups < 0 {
		return fmt.Errorf("--final-aggregate-groups must be 0 (merge on the coordinator) or more, got %d", d.finalGroups)
	}
	switch d.routing {
	case flightserver.RoutingProxy, flightserver.RoutingDirect:
	default:
		return fmt.Errorf("--result-routing %q: want proxy or direct", d.routing)
	}
	switch d.compression {
	case flightserver.CompressionAuto, flightserver.CompressionOff, string(flightwire.Zstd), string(flightwire.LZ4):
	default:
		return fmt.Errorf("--ipc-compression %q: want auto, off, zstd or lz4", d.compression)
	}
	for name, v := range map[string]time.Duration{
		"--worker-dns-interval": d.dnsInterval, "--worker-health-interval": d.healthInterval,
		"--fragment-stall-timeout": d.stallTimeout, "--worker-grace": d.grace, "--spool-ttl": d.spoolTTL,
	} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, v)
		}
	}
	if d.maxPartials <= 0 {
		return fmt.Errorf("--max-partials-bytes must be positive")
	}
	if d.fragmentsParallel < 1 {
		return fmt.Errorf("--merge-parallelism must be at least 1")
	}
	return nil
}

// broadcastBytes resolves --broadcast-bytes: auto is an eighth of a local
// worker's memory_limit (setting as the workers get it), so a build side
// that would not fit a worker's memory is repartitioned, and 0 (never)
// when the workers are remote and their memory unknown here.
func (d *distFlags) broadcastBytesFor(local bool, workerMemory string) (bytes int64, fromWorkers bool, err error) {
	if d.broadcastBytes != "auto" {
		var b byteSize
		if err := b.Set(d.broadcastBytes); err != nil {
			return 0, false, fmt.Errorf("--broadcast-bytes: %w", err)
		}
		return int64(b), false, nil
	}
	if !local {
		return 0, true, nil // an eighth of what the workers report (workerpool.SmallestMemory)
	}
	limit, err := engine.ResolveMemoryLimit(workerMemory, "")
	if err != nil {
		return 0, false, fmt.Errorf("--broadcast-bytes auto: worker memory %q: %w", workerMemory, err)
	}
	return limit.Bytes / 8, false, nil
}

// byteSize is a flag holding a number of bytes: 1073741824, 1GiB, 512MiB, 2GB, 64k.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(v string) error {
	s := strings.TrimSpace(v)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.ToLower(strings.TrimSpace(s[i:]))
	mult := map[string]int64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000, "tib": 1 << 40,
	}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if mult == 0 || err != nil || n < 0 {
		return fmt.Errorf("%q is not a size: want bytes or a number with KiB, MiB, GiB, KB, MB, GB", v)
	}
	*b = byteSize(n * mult)
	return nil
}
