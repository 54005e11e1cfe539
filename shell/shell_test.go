package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
)

// catalogOnly is a Backend with a catalog and no queries: enough for the
// dot commands and completion.
type catalogOnly struct{ Backend }

func (catalogOnly) Tables(context.Context) ([]client.Table, error) {
	return []client.Table{
		{Schema: "demo", Name: "plays", Columns: []arrow.Field{{Name: "play_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "device", Type: arrow.BinaryTypes.String}}},
		{Schema: "demo", Name: "titles", Columns: []arrow.Field{{Name: "title_id", Type: arrow.PrimitiveTypes.Int64}}},
		{Schema: "system", Name: "queries"},
	}, nil
}

func TestDotCommands(t *testing.T) {
	var out, errs bytes.Buffer
	s := New(Options{Conn: catalogOnly{}, Stdout: &out, Stderr: &errs})
	ctx := context.Background()
	run := func(line string) string {
		out.Reset()
		require.NoError(t, s.Exec(ctx, line), line)
		return out.String()
	}
	require.Equal(t, "demo.plays\ndemo.titles\nsystem.queries\n", run(".tables"))
	require.Equal(t, "demo.plays\ndemo.titles\n", run(".tables demo.*"))
	require.Equal(t, "demo.plays (\n  play_id BIGINT,\n  device VARCHAR\n)\n", run(".schema demo.plays"))
	require.Equal(t, "demo.titles (\n  title_id BIGINT\n)\n", run(".schema titles"))
	run(".mode csv")
	require.Equal(t, "csv\n", run(".mode"))
	require.Error(t, s.Exec(ctx, ".mode xml"))
	require.Error(t, s.Exec(ctx, ".schema nope"))
	require.Error(t, s.Exec(ctx, ".frobnicate"))
	require.ErrorIs(t, s.Exec(ctx, ".quit"), ErrQuit)
	run(".timer on")
	require.True(t, s.timer)
	file := filepath.Join(t.TempDir(), "out.txt")
	run(".output " + file)
	require.NoError(t, s.Exec(ctx, ".tables demo.t*"))
	run(".output")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "demo.titles\n", string(data))
	require.Contains(t, run(".help"), ".schema TABLE")
}

func TestCompletion(t *testing.T) {
	s := New(Options{Conn: catalogOnly{}, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	ctx := context.Background()
	tests := []struct {
		line string
		want []string
	}{
		{"SELECT * FROM demo.ti", []string{"demo.titles"}},
		{"SELECT * FROM ti", []string{"title_id", "titles"}},
		{"sel", []string{"select"}},
		{"SEL", []string{"SELECT"}},
		{"SELECT dev", []string{"device"}},
		{".ta", []string{".tables"}},
		{"SELECT ", nil},
	}
	for _, tc := range tests {
		head, got, tail := s.complete(ctx, tc.line, len(tc.line))
		require.Equal(t, tc.want, got, tc.line)
		require.Equal(t, "", tail)
		require.True(t, strings.HasPrefix(tc.line, head), tc.line)
	}
}

func TestErrorLine(t *testing.T) {
	st := status.Error(codes.NotFound, "table plays does not exist (did you mean demo.plays?)")
	wrapped := &StatementError{Err: errorsJoin("execute query on h:1: ", st)}
	require.Equal(t, "Error: table plays does not exist (did you mean demo.plays?)", ErrorLine(wrapped))
	require.Equal(t, "query cancelled", ErrorLine(ErrCancelled))
}

// errorsJoin wraps err with a prefix, as the client does.
func errorsJoin(prefix string, err error) error { return &prefixed{prefix, err} }

type prefixed struct {
	p   string
	err error
}

func (e *prefixed) Error() string { return e.p + e.err.Error() }
func (e *prefixed) Unwrap() error { return e.err }
