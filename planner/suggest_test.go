package planner

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// listingCatalog is a fakeCatalog that can also list its tables.
type listingCatalog struct{ fakeCatalog }

func (c listingCatalog) Tables(context.Context) ([]storage.TableName, error) {
	var out []storage.TableName
	for n := range c.fakeCatalog {
		out = append(out, n)
	}
	return out, nil
}

// onlyPolicy grants the tables it names.
type onlyPolicy map[storage.TableName]bool

func (p onlyPolicy) Restrict(_ context.Context, n storage.TableName, _ []storage.Column) (*Restriction, error) {
	if p[n] {
		return &Restriction{}, nil
	}
	return nil, ErrNotGranted
}

func TestMissingTableSuggestsClosest(t *testing.T) {
	p := newTestPlanner(t)
	cat := listingCatalog{p.opts.Catalog.(fakeCatalog)}
	p.opts.Catalog = cat
	cases := []struct{ sql, msg string }{
		{"SELECT * FROM plays", "table plays does not exist: table not found (did you mean demo.plays?)"},
		{"SELECT * FROM demo.play", "table demo.play does not exist: table not found (did you mean demo.plays?)"},
		{"SELECT * FROM demo.titels", "(did you mean demo.titles?)"},
	}
	for _, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := p.Plan(context.Background(), tc.sql)
			require.ErrorIs(t, err, ErrTableNotFound)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	_, err := p.Plan(context.Background(), "SELECT * FROM demo.zzzzzzzz")
	require.ErrorIs(t, err, ErrTableNotFound)
	require.NotContains(t, err.Error(), "did you mean", "nothing is close")

	t.Run("a table the caller may not read is never named", func(t *testing.T) {
		p.opts.Policy = onlyPolicy{{Schema: "demo", Name: "titles"}: true}
		defer func() { p.opts.Policy = nil }()
		_, err := p.Plan(context.Background(), "SELECT * FROM plays")
		require.True(t, errors.Is(err, ErrTableNotFound) || errors.Is(err, ErrNotGranted), "%v", err)
		require.NotContains(t, err.Error(), "demo.plays")
	})
}

func TestDidYouMean(t *testing.T) {
	require.Empty(t, didYouMean(nil))
	require.Equal(t, " (did you mean a.b?)", didYouMean([]string{"a.b"}))
	require.Equal(t, " (did you mean a.b, a.c or a.d?)", didYouMean([]string{"a.b", "a.c", "a.d"}))
}
