package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrintReportList: an empty listing is one line saying why, not a
// bare header; --json prints the server's answer untouched.
func TestPrintReportList(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		asJSON bool
		want   string
	}{
		{"no reports file", `{"reports": [], "configured": false}`, false, noReports + "\n"},
		{"older server without the field", `{"reports": []}`, false, noReports + "\n"},
		{"reports of other users", `{"reports": [], "configured": true}`, false, noVisibleReports + "\n"},
		{"json untouched", `{"reports": [], "configured": false}`, true, `{"reports": [], "configured": false}` + "\n"},
		{"only invalid", `{"reports": [], "invalid": ["report x: bad"], "configured": true}`, false, "invalid: report x: bad\n"},
		{"one report", `{"reports": [{"name": "daily", "schedule": "0 6 * * *", "timezone": "UTC", "output": "/o/x.csv"}], "configured": true}`, false,
			"NAME   SCHEDULE   TIMEZONE  NEXT RUN  LAST RUN  STATUS  LAST SUCCESS  OUTPUT\n" +
				"daily  0 6 * * *  UTC       -         -         -       -             /o/x.csv\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, printReportList(&out, []byte(tc.raw), tc.asJSON))
			require.Equal(t, tc.want, out.String())
		})
	}
}
