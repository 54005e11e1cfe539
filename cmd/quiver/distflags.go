package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/flightwire"
)

// distFlags are serve's flags for distributed execution: worker
// discovery and health, fault tolerance, merge limits and result routing.
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
	fs.IntVar(&d.fragmentsParallel, "merge-parallelism", 16, "fragments of one merge plan run at once")
	fs.StringVar(&d.compression, "ipc-compression", flightserver.CompressionAuto, "compression of result batches: auto (zstd for clients on other machines, except Java/JDBC ones), off, zstd or lz4 (every result); clients override it per query with the "+flightserver.CompressionHeader+" header")
}

func (d *distFlags) validate() error {
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
		"--fragment-stall-timeout": d.stallTimeout, "--worker-grace": d.grace,
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
