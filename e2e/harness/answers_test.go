package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Rows
		wantErr string
	}{
		{
			name: "header and rows, trailing blank line",
			text: "a|b\n1|x\n2|y\n\n",
			want: Rows{Columns: []string{"a", "b"}, Rows: [][]string{{"1", "x"}, {"2", "y"}}},
		},
		{name: "ragged row", text: "a|b\n1\n", wantErr: "has 1 cells"},
		{name: "empty", text: "", wantErr: "no header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAnswer(tc.text)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNumericAndRelEqual(t *testing.T) {
	tests := []struct {
		name string
		eq   cellEqual
		a, b string
		want bool
	}{
		{"same text", numericEqual(1e-9), "BRAZIL", "BRAZIL", true},
		{"decimal trailing zero", numericEqual(1e-9), "10512270008.90", "10512270008.9", true},
		{"double last bits", numericEqual(1e-9), "25.537587116854997", "25.537587116855", true},
		{"numbers too far apart", numericEqual(1e-9), "25.5375871", "25.5375872", false},
		{"text differs", numericEqual(1e-9), "A", "B", false},
		{"rel floats close", relEqual(1e-9), "~1.0000000000001", "~1", true},
		{"rel floats far", relEqual(1e-9), "~1.00000001", "~1", false},
		{"rel needs float mark", relEqual(1e-9), "1.0000000000001", "1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.eq(tc.a, tc.b))
		})
	}
}
