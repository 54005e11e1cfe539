package coordinator

import (
	"hash/fnv"
	"sort"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Members lists the healthy workers; *workerpool.Pool is one.
type Members interface {
	Healthy() []string
}

// Partitioner is the planner's planner.Partitioner over the current
// healthy workers. Each file goes to the worker with the highest
// rendezvous (HRW) score for the pair (worker, file key), so the same file
// lands on the same worker query after query (where DuckDB has its footer
// and data cached), and when a worker joins or leaves only the files it
// wins or held move: about 1/N of them.
type Partitioner struct {
	Members Members
}

// Partition returns one group per worker that got files, labeled with the
// worker's address, in label order; files keep their input order within a
// group. With no healthy worker it returns a single unlabeled group.
func (p Partitioner) Partition(files []storage.File) []planner.FileGroup {
	if len(files) == 0 {
		return nil
	}
	var nodes []string
	if p.Members != nil {
		nodes = p.Members.Healthy()
	}
	if len(nodes) == 0 {
		return []planner.FileGroup{{Files: files}}
	}
	// Bounded load: a worker takes at most its fair share rounded up, plus
	// a tenth of it in whole files, so no worker sits idle while another
	// reads several files (plain HRW leaves one of 3 workers without any of
	// 12 files about 2% of the time). The slack keeps HRW's stability when
	// there are many files; with few it is none, because there one file
	// more is a large part of the wall time: 6 files on 2 workers placed
	// 4 and 2 (the 25% slack this had before) made TPC-H q01 wait 236 ms
	// for the worker with 4 while the other was done at 122 ms. Files are
	// placed in key order, each on its best-scoring worker that still has
	// room, which keeps the assignment deterministic and mostly stable as
	// workers come and go.
	capacity := (len(files)+len(nodes)-1)/len(nodes) + len(files)/len(nodes)/10
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return files[order[a]].PlacementKey() < files[order[b]].PlacementKey() })
	owner := make([]string, len(files))
	load := map[string]int{}
	for _, i := range order {
		n := rendezvous(nodes, files[i].PlacementKey(), func(n string) bool { return load[n] < capacity })
		owner[i] = n
		load[n]++
	}
	groups := map[string][]storage.File{}
	for i, f := range files {
		groups[owner[i]] = append(groups[owner[i]], f)
	}
	out := make([]planner.FileGroup, 0, len(groups))
	for label, fs := range groups {
		out = append(out, planner.FileGroup{Label: label, Files: fs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// rendezvous returns the node with the highest score for key among those
// that may take it.
func rendezvous(nodes []string, key string, ok func(string) bool) string {
	var best string
	var bestScore uint64
	found := false
	for _, n := range nodes {
		if !ok(n) {
			continue
		}
		s := score(n, key)
		if !found || s > bestScore || (s == bestScore && n < best) {
			best, bestScore, found = n, s, true
		}
	}
	return best
}

// score hashes (node, key) with FNV-1a and a 64-bit finalizer (FNV alone
// mixes similar strings poorly, which would skew the assignment).
func score(node, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
