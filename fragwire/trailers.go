package fragwire

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
)

// CPUTrailer is the trailer a worker ends every successful fragment
// stream with: the CPU time (user and system) its process had used when
// the fragment started and when it ended, nanoseconds, "start,end".
// DuckDB runs a fragment on a thread pool and keeps no per-query CPU
// count, so this is the process's: the difference includes whatever other
// fragments the worker ran meanwhile, and fragments of one stage on one
// worker span min(start) … max(end) together (EXPLAIN ANALYZE's busiest
// worker).
const CPUTrailer = "quiver-process-cpu-ns"

// SpillTrailer is the trailer with the largest size, bytes, the worker's
// DuckDB temp directory reached while a fragment ran (sampled every
// 100 ms): what DuckDB spilled, by this fragment or another running
// at the same time.
const SpillTrailer = "quiver-fragment-spill-bytes"

// TrailerSpill reads the spill a worker's trailer reports, 0 when none.
func TrailerSpill(md metadata.MD) int64 {
	v := md.Get(SpillTrailer)
	if len(v) != 1 {
		return 0
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// TrailerCPU reads the process CPU times a worker's trailer reports at a
// fragment's start and end; ok is false when it reports none.
func TrailerCPU(md metadata.MD) (start, end time.Duration, ok bool) {
	v := md.Get(CPUTrailer)
	if len(v) != 1 {
		return 0, 0, false
	}
	a, b, found := strings.Cut(v[0], ",")
	s, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || s < 0 || e < s {
		return 0, 0, false
	}
	return time.Duration(s), time.Duration(e), true
}
