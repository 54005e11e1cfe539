package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDigestDiff(t *testing.T) {
	tests := []struct {
		name           string
		want, got      []uint64
		missing, extra int
	}{
		{"equal", []uint64{1, 2, 2, 3}, []uint64{1, 2, 2, 3}, 0, 0},
		{"duplicate lost", []uint64{1, 2, 2, 3}, []uint64{1, 2, 3}, 1, 0},
		{"duplicated row", []uint64{1, 2, 3}, []uint64{1, 2, 2, 3, 3}, 0, 2},
		{"disjoint", []uint64{1}, []uint64{2}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, e := digestDiff(tc.want, tc.got)
			require.Equal(t, tc.missing, m)
			require.Equal(t, tc.extra, e)
		})
	}
}
