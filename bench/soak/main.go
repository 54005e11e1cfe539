package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// class is one kind of query in the mix.
type class struct {
	Name   string
	Weight int
	SQL    func(r *rand.Rand) string
}

var classes = []class{
	{"lookup", 70, func(r *rand.Rand) string {
		return fmt.Sprintf("SELECT name, genre, rating FROM demo.titles WHERE title_id = %d", 1+r.IntN(10000))
	}},
	{"aggregate", 25, func(r *rand.Rand) string {
		day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(28)).Format("2006-01-02")
		return fmt.Sprintf("SELECT device, count(*) AS plays, sum(revenue) AS revenue, avg(duration_seconds) AS secs "+
			"FROM demo.plays WHERE day >= DATE '%s' GROUP BY device ORDER BY plays DESC", day)
	}},
	{"scan", 5, func(r *rand.Rand) string {
		return fmt.Sprintf("SELECT * FROM demo.events WHERE user_id %% 16 = %d", r.IntN(16))
	}},
}

type sample struct {
	class   string
	latency time.Duration
	rows    int64
	bytes   int64
	code    string // "" when the query succeeded
	at      time.Time
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8815", "Quiver Flight SQL address")
	pid := flag.Int("pid", 0, "pid of `quiver serve` (its children are the local workers) for memory sampling")
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Duration("duration", 5*time.Minute, "how long the load runs")
	baselineRuns := flag.Int("baseline-runs", 20, "runs of each class alone before the load")
	out := flag.String("out", "bench/out/soak.json", "where to write the results")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	dial := func() (*flightsql.Client, error) {
		return flightsql.NewClient(*addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))

	// Baseline: each class alone, one client.
	base, err := dial()
	if err != nil {
		return err
	}
	baseline := map[string][]time.Duration{}
	for _, c := range classes {
		for range *baselineRuns {
			s := runOne(ctx, base, c, r)
			if s.code != "" {
				return fmt.Errorf("baseline %s failed: %s", c.Name, s.code)
			}
			baseline[c.Name] = append(baseline[c.Name], s.latency)
		}
	}
	_ = base.Close()
	logger.Info("baseline done")

	// Memory sampling.
	var memMu sync.Mutex
	var mem []memSample
	stopMem := make(chan struct{})
	memDone := make(chan struct{})
	go func() {
		defer close(memDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopMem:
				return
			case now := <-t.C:
				if *pid == 0 {
					continue
				}
				m := memSample{at: now, coordinator: rss(*pid)}
				for _, c := range children(*pid) {
					m.workers += rss(c)
				}
				memMu.Lock()
				mem = append(mem, m)
				memMu.Unlock()
			}
		}
	}()

	// The load.
	var mu sync.Mutex
	var samples []sample
	start := time.Now()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := dial()
			if err != nil {
				logger.Error("dial", "err", err)
				return
			}
			defer func() { _ = cl.Close() }()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			total := 0
			for _, c := range classes {
				total += c.Weight
			}
			for time.Now().Before(deadline) {
				pick := r.IntN(total)
				var c class
				for _, c = range classes {
					if pick < c.Weight {
						break
					}
					pick -= c.Weight
				}
				s := runOne(ctx, cl, c, r)
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				if s.code == "Unavailable" {
					time.Sleep(100 * time.Millisecond) // retriable: back off like a client would
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopMem)
	<-memDone

	res := summarize(samples, baseline, mem, elapsed, *clients)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return err
	}
	fmt.Println(res.Markdown())
	return nil
}

func runOne(ctx context.Context, cl *flightsql.Client, c class, r *rand.Rand) sample {
	s := sample{class: c.Name, at: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	err := func() error {
		info, err := cl.Execute(ctx, c.SQL(r))
		if err != nil {
			return err
		}
		for _, ep := range info.Endpoint {
			rdr, err := cl.DoGet(ctx, ep.Ticket)
			if err != nil {
				return err
			}
			for rdr.Next() {
				rec := rdr.RecordBatch()
				s.rows += rec.NumRows()
				for _, col := range rec.Columns() {
					for _, b := range col.Data().Buffers() {
						if b != nil {
							s.bytes += int64(b.Len())
						}
					}
				}
			}
			err = rdr.Err()
			rdr.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}()
	s.latency = time.Since(s.at)
	if err != nil {
		s.code = status.Code(err).String()
	}
	return s
}

type memSample struct {
	at                   time.Time
	coordinator, workers int64
}

// Result is the soak's outcome.
type Result struct {
	Clients      int                     `json:"clients"`
	Seconds      float64                 `json:"seconds"`
	Queries      int                     `json:"queries"`
	QPS          float64                 `json:"qps"`
	Errors       map[string]int          `json:"errors"`
	Classes      map[string]*ClassResult `json:"classes"`
	Memory       MemoryResult            `json:"memory"`
	ClassesOrder []string                `json:"-"`
}

// ClassResult is one query class's figures.
type ClassResult struct {
	Count        int     `json:"count"`
	Errors       int     `json:"errors"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	BaselineP50  float64 `json:"baseline_p50_ms"`
	RatioP50     float64 `json:"p50_ratio_to_baseline"`
	RowsPerQuery float64 `json:"rows_per_query"`
	MBps         float64 `json:"mb_per_s"`
}

// MemoryResult is peak RSS, and the peak of the first and last minute.
type MemoryResult struct {
	CoordinatorPeakMiB     float64 `json:"coordinator_peak_mib"`
	CoordinatorFirstMinMiB float64 `json:"coordinator_first_minute_peak_mib"`
	CoordinatorLastMinMiB  float64 `json:"coordinator_last_minute_peak_mib"`
	WorkersPeakMiB         float64 `json:"workers_peak_mib"`
	WorkersFirstMinMiB     float64 `json:"workers_first_minute_peak_mib"`
	WorkersLastMinMiB      float64 `json:"workers_last_minute_peak_mib"`
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p * float64(len(d)-1))
	return float64(d[i].Microseconds()) / 1000
}

func summarize(samples []sample, baseline map[string][]time.Duration, mem []memSample, elapsed time.Duration, clients int) Result {
	res := Result{Clients: clients, Seconds: elapsed.Seconds(), Queries: len(samples), Errors: map[string]int{}, Classes: map[string]*ClassResult{}}
	res.QPS = float64(len(samples)) / elapsed.Seconds()
	lat := map[string][]time.Duration{}
	for _, c := range classes {
		res.ClassesOrder = append(res.ClassesOrder, c.Name)
		res.Classes[c.Name] = &ClassResult{BaselineP50: percentile(baseline[c.Name], 0.5)}
	}
	var rows, bytes = map[string]int64{}, map[string]int64{}
	for _, s := range samples {
		cr := res.Classes[s.class]
		cr.Count++
		if s.code != "" {
			cr.Errors++
			res.Errors[s.code]++
			continue
		}
		lat[s.class] = append(lat[s.class], s.latency)
		rows[s.class] += s.rows
		bytes[s.class] += s.bytes
	}
	for name, cr := range res.Classes {
		cr.P50ms = percentile(lat[name], 0.5)
		cr.P99ms = percentile(lat[name], 0.99)
		if cr.BaselineP50 > 0 {
			cr.RatioP50 = cr.P50ms / cr.BaselineP50
		}
		if ok := len(lat[name]); ok > 0 {
			cr.RowsPerQuery = float64(rows[name]) / float64(ok)
		}
		cr.MBps = float64(bytes[name]) / elapsed.Seconds() / (1 << 20)
	}
	if len(mem) > 0 {
		first, last := mem[0].at.Add(time.Minute), mem[len(mem)-1].at.Add(-time.Minute)
		for _, m := range mem {
			c, w := float64(m.coordinator)/(1<<20), float64(m.workers)/(1<<20)
			res.Memory.CoordinatorPeakMiB = max(res.Memory.CoordinatorPeakMiB, c)
			res.Memory.WorkersPeakMiB = max(res.Memory.WorkersPeakMiB, w)
			if m.at.Before(first) {
				res.Memory.CoordinatorFirstMinMiB = max(res.Memory.CoordinatorFirstMinMiB, c)
				res.Memory.WorkersFirstMinMiB = max(res.Memory.WorkersFirstMinMiB, w)
			}
			if m.at.After(last) {
				res.Memory.CoordinatorLastMinMiB = max(res.Memory.CoordinatorLastMinMiB, c)
				res.Memory.WorkersLastMinMiB = max(res.Memory.WorkersLastMinMiB, w)
			}
		}
	}
	return res
}

// Markdown renders the result as BENCHMARKS.md tables.
func (r Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients for %.0f s: %d queries, %.1f queries/s, errors: %v\n\n", r.Clients, r.Seconds, r.Queries, r.QPS, r.Errors)
	b.WriteString("| class | queries | errors | p50 ms | p99 ms | alone p50 ms (baseline) | p50 / baseline | rows/query | MB/s |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range r.ClassesOrder {
		c := r.Classes[name]
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f× | %.0f | %.1f |\n", name, c.Count, c.Errors, c.P50ms, c.P99ms, c.BaselineP50, c.RatioP50, c.RowsPerQuery, c.MBps)
	}
	m := r.Memory
	fmt.Fprintf(&b, "\n| process | peak RSS MiB | peak in first minute | peak in last minute |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| coordinator | %.0f | %.0f | %.0f |\n", m.CoordinatorPeakMiB, m.CoordinatorFirstMinMiB, m.CoordinatorLastMinMiB)
	fmt.Fprintf(&b, "| workers (sum of 2) | %.0f | %.0f | %.0f |\n", m.WorkersPeakMiB, m.WorkersFirstMinMiB, m.WorkersLastMinMiB)
	return b.String()
}

func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// children are the direct child processes of pid (the local workers),
// found by scanning /proc/*/stat for their parent.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so split after ')'.
		_, rest, ok := strings.Cut(string(raw), ") ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}
