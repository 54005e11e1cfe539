package demodata

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPickFollowsWeights(t *testing.T) {
	db := openDB(t)
	tests := []struct {
		name    string
		choices []choice
	}{
		{"devices", devices},
		{"countries", countries},
		{"two values", []choice{{"a", 1}, {"it's", 3}}},
	}
	const rows = 200000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total := 0
			for _, c := range tc.choices {
				total += c.weight
			}
			res, err := db.QueryContext(t.Context(), fmt.Sprintf(
				"SELECT v, count(*) FROM (SELECT %s AS v FROM range(%d) t(i)) GROUP BY v",
				pick("i", "test", tc.choices), rows))
			require.NoError(t, err)
			defer res.Close()
			got := map[string]float64{}
			for res.Next() {
				var v string
				var n int64
				require.NoError(t, res.Scan(&v, &n))
				got[v] = float64(n) / rows
			}
			require.NoError(t, res.Err())
			require.Len(t, got, len(tc.choices))
			for _, c := range tc.choices {
				require.InDelta(t, float64(c.weight)/float64(total), got[c.value], 0.01, c.value)
			}
		})
	}
}

func TestHmodIsDeterministicAndInRange(t *testing.T) {
	db := openDB(t)
	q := fmt.Sprintf("SELECT min(v), max(v), count(DISTINCT v), sum(v) FROM (SELECT %s AS v FROM range(10000) t(i))", hmod("i", "salt", 7))
	var lo, hi, distinct, sum1, sum2 int64
	require.NoError(t, db.QueryRowContext(t.Context(), q).Scan(&lo, &hi, &distinct, &sum1))
	require.NoError(t, db.QueryRowContext(t.Context(), q).Scan(&lo, &hi, &distinct, &sum2))
	require.Equal(t, []int64{0, 6, 7}, []int64{lo, hi, distinct})
	require.Equal(t, sum1, sum2)
}

func TestRowRangeCoversEveryRowOnce(t *testing.T) {
	tests := []struct {
		total int64
		parts int
	}{
		{10000, 4}, {10001, 4}, {7, 4}, {3, 4}, {5000000, 30}, {10007, 30},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.total, "/", tc.parts), func(t *testing.T) {
			next := int64(1)
			for k := range tc.parts {
				lo, hi := rowRange(tc.total, tc.parts, k)
				require.Equal(t, next, lo)
				require.LessOrEqual(t, lo, hi)
				for _, i := range []int64{lo, hi - 1} {
					if i >= lo && i < hi {
						require.Equal(t, int64(k), (i-1)*int64(tc.parts)/tc.total, "row %d", i)
					}
				}
				next = hi
			}
			require.Equal(t, tc.total+1, next)
		})
	}
}

func TestSQLString(t *testing.T) {
	require.Equal(t, "'it''s'", sqlString("it's"))
	require.Equal(t, "['a', 'b''c']", sqlList([]string{"a", "b'c"}))
}
