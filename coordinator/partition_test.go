package coordinator

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

type staticMembers []string

func (s staticMembers) Healthy() []string { return s }

func files(n int) []storage.File {
	out := make([]storage.File, n)
	for i := range out {
		out[i] = storage.File{Object: storage.Object{Key: fmt.Sprintf("demo/plays/day=2025-01-%02d/data_%d.parquet", i%28+1, i)}}
	}
	return out
}

// owners maps each file key to the label of its group.
func owners(groups []planner.FileGroup) map[string]string {
	out := map[string]string{}
	for _, g := range groups {
		for _, f := range g.Files {
			out[f.Key] = g.Label
		}
	}
	return out
}

func workerAddrs(n int) staticMembers {
	out := make(staticMembers, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:8816", i+1)
	}
	return out
}

func TestPartitionerStable(t *testing.T) {
	fs := files(2000)
	cases := []struct {
		name      string
		before    staticMembers
		after     staticMembers
		maxMoved  float64 // fraction of files allowed to move
		minMoved  float64
		onlyToNew bool
	}{
		{"same input, same groups", workerAddrs(4), workerAddrs(4), 0, 0, false},
		{"a worker joins: ~1/5 move, all to it", workerAddrs(4), workerAddrs(5), 0.27, 0.13, true},
		{"a worker leaves: only its files move", workerAddrs(5), workerAddrs(4), 0.27, 0.13, false},
		{"order of members does not matter", staticMembers{"b:1", "a:1", "c:1"}, staticMembers{"c:1", "b:1", "a:1"}, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := owners(Partitioner{Members: tc.before}.Partition(fs))
			after := owners(Partitioner{Members: tc.after}.Partition(fs))
			require.Len(t, after, len(fs))
			moved := 0
			known := map[string]bool{}
			for _, a := range tc.before {
				known[a] = true
			}
			for k, b := range before {
				if after[k] != b {
					moved++
					if tc.onlyToNew {
						require.False(t, known[after[k]], "file %s moved between old workers", k)
					}
					if len(tc.after) < len(tc.before) {
						require.NotContains(t, []string(tc.after), b, "file %s moved off a worker that stayed", k)
					}
				}
			}
			frac := float64(moved) / float64(len(fs))
			require.LessOrEqual(t, frac, tc.maxMoved)
			require.GreaterOrEqual(t, frac, tc.minMoved)
		})
	}
}

func TestPartitionerGroups(t *testing.T) {
	fs := files(400)
	groups := Partitioner{Members: workerAddrs(4)}.Partition(fs)
	require.Len(t, groups, 4, "every worker gets files")
	total := 0
	for i, g := range groups {
		total += len(g.Files)
		require.InDelta(t, 100, len(g.Files), 35, "balanced: %s has %d", g.Label, len(g.Files))
		if i > 0 {
			require.Less(t, groups[i-1].Label, g.Label, "sorted by label")
		}
	}
	require.Equal(t, len(fs), total)

	t.Run("few files: only workers that got some", func(t *testing.T) {
		groups := Partitioner{Members: workerAddrs(8)}.Partition(files(2))
		require.LessOrEqual(t, len(groups), 2)
	})
	t.Run("no healthy worker: one unlabeled group", func(t *testing.T) {
		groups := Partitioner{Members: staticMembers{}}.Partition(fs)
		require.Len(t, groups, 1)
		require.Empty(t, groups[0].Label)
		require.Len(t, groups[0].Files, len(fs))
	})
	t.Run("no files", func(t *testing.T) {
		require.Empty(t, Partitioner{Members: workerAddrs(2)}.Partition(nil))
	})
}

func TestPartitionBoundedLoad(t *testing.T) {
	files := make([]storage.File, 12)
	for i := range files {
		files[i] = storage.File{Object: storage.Object{Key: fmt.Sprintf("demo/t/part-%05d.parquet", i)}}
	}
	// Plain rendezvous hashing leaves one of three workers without files
	// for some address sets; bounded load never does.
	for port := 30000; port < 31000; port++ {
		nodes := staticMembers{
			fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", port+1000), fmt.Sprintf("127.0.0.1:%d", port+2000),
		}
		groups := Partitioner{Members: nodes}.Partition(files)
		require.Len(t, groups, 3, "nodes %v", nodes)
		for _, g := range groups {
			require.LessOrEqual(t, len(g.Files), 5, "at most 25%% over the fair share of 4")
		}
	}
}

func TestPartitionFewFilesFairShare(t *testing.T) {
	// With few files a file more is a large part of a worker's wall time:
	// each worker takes at most its fair share rounded up.
	cases := []struct{ files, workers, most int }{{6, 2, 3}, {8, 2, 4}, {6, 4, 2}, {8, 4, 2}, {12, 3, 4}, {7, 3, 3}}
	for _, tc := range cases {
		fs := make([]storage.File, tc.files)
		for i := range fs {
			fs[i] = storage.File{Object: storage.Object{Key: fmt.Sprintf("tpch/main/lineitem/part-%d.parquet", i)}}
		}
		for port := 30000; port < 30200; port++ {
			nodes := make(staticMembers, tc.workers)
			for i := range nodes {
				nodes[i] = fmt.Sprintf("127.0.0.1:%d", port+1000*i)
			}
			total := 0
			for _, g := range (Partitioner{Members: nodes}).Partition(fs) {
				require.LessOrEqual(t, len(g.Files), tc.most, "%d files on %v", tc.files, nodes)
				total += len(g.Files)
			}
			require.Equal(t, tc.files, total)
		}
	}
}
