package search

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func corpus() []Doc {
	orders := storage.TableName{Schema: "sales", Name: "orders"}
	profiles := storage.TableName{Schema: "demo", Name: "profiles"}
	invoices := storage.TableName{Schema: "lake.billing", Name: "invoices"}
	return []Doc{
		{Kind: KindTable, Name: orders, Catalog: "quiver", Schema: "sales", Table: "orders", Description: "One row per order, with its revenue."},
		{Kind: KindColumn, Name: orders, Catalog: "quiver", Schema: "sales", Table: "orders", Column: "total_revenue", Type: "DOUBLE"},
		{Kind: KindColumn, Name: orders, Catalog: "quiver", Schema: "sales", Table: "orders", Column: "order_id", Type: "BIGINT"},
		{Kind: KindTable, Name: profiles, Catalog: "quiver", Schema: "demo", Table: "profiles", Tags: []string{"customer"}},
		{Kind: KindColumn, Name: profiles, Catalog: "quiver", Schema: "demo", Table: "profiles", Column: "email", Type: "VARCHAR", Tags: []string{"pii:email"}},
		{Kind: KindColumn, Name: profiles, Catalog: "quiver", Schema: "demo", Table: "profiles", Column: "contact", Type: "VARCHAR", Description: "E-mail or phone the account gave."},
		{Kind: KindTable, Name: invoices, Catalog: "lake", Schema: "billing", Table: "invoices", Description: "Invoices: what each account owes."},
		{Kind: KindColumn, Name: invoices, Catalog: "lake", Schema: "billing", Table: "invoices", Column: "amount", Type: "DOUBLE", Description: "Revenue of the invoice, in EUR."},
	}
}

func names(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		n := h.Catalog + "." + h.Schema + "." + h.Table
		if h.Column != "" {
			n += "." + h.Column
		}
		out = append(out, n)
	}
	return out
}

func TestSearchRanking(t *testing.T) {
	ix := Build(corpus())
	require.Equal(t, 8, ix.Len())
	for _, tc := range []struct {
		text string
		want []string
	}{
		// A name beats a description; a column named for it beats tables
		// that only mention it.
		{"revenue", []string{"quiver.sales.orders.total_revenue", "quiver.sales.orders", "lake.billing.invoices.amount"}},
		{"revnue", []string{"quiver.sales.orders.total_revenue", "quiver.sales.orders", "lake.billing.invoices.amount"}},
		{"Total Revenue", []string{"quiver.sales.orders.total_revenue", "quiver.sales.orders", "lake.billing.invoices.amount"}},
		// A tag counts more than a description.
		{"email", []string{"quiver.demo.profiles.email", "quiver.demo.profiles.contact"}},
		{"pii", []string{"quiver.demo.profiles.email"}},
		// A prefix, and a transposition.
		{"invo", []string{"lake.billing.invoices", "lake.billing.invoices.amount"}},
		{"porfiles", []string{"quiver.demo.profiles", "quiver.demo.profiles.contact", "quiver.demo.profiles.email"}},
		// More terms matched rank first.
		{"profiles email", []string{"quiver.demo.profiles.email", "quiver.demo.profiles.contact", "quiver.demo.profiles"}},
		{"zzz", nil},
		{"", nil},
	} {
		t.Run(tc.text, func(t *testing.T) {
			require.Equal(t, tc.want, names(ix.Search(tc.text, 10, nil)))
		})
	}
	hits := ix.Search("revnue", 1, nil)
	require.Len(t, hits, 1, "limit")
	require.Equal(t, []string{"name"}, hits[0].Matched)
	require.Equal(t, "DOUBLE", hits[0].Type)
	require.Equal(t, []string{"description"}, ix.Search("owes", 5, nil)[0].Matched)
}

func TestSearchShortTermsAreExact(t *testing.T) {
	ix := Build(corpus())
	require.Empty(t, ix.Search("pr", 10, nil), "two letters are no prefix")
	require.Empty(t, ix.Search("ie", 10, nil), "nor a typo of id")
	require.Equal(t, []string{"quiver.sales.orders.order_id"}, names(ix.Search("id", 10, nil)), "but match exactly")
}

func TestSearchPolicy(t *testing.T) {
	ix := Build(corpus())
	hidden := storage.TableName{Schema: "sales", Name: "orders"}
	allow := func(d Doc) bool { return d.Name != hidden && d.Column != "email" }
	require.Equal(t, []string{"lake.billing.invoices.amount"}, names(ix.Search("revenue", 10, allow)),
		"a table the caller may not see, nor its columns, is never found")
	require.Equal(t, []string{"quiver.demo.profiles.contact"}, names(ix.Search("email", 10, allow)), "nor a denied column")
	// The limit counts admitted hits.
	require.Len(t, ix.Search("revenue invoices", 1, allow), 1)
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"revnue", "revenue", 1}, {"porfiles", "profiles", 1}, {"abc", "abc", 0}, {"kitten", "sitting", 3}, {"ab", "ba", 1},
		{"demo.titels", "demo.titles", 1}, {"", "abc", 3}, {"démo", "demo", 1},
	} {
		require.Equal(t, min(tc.want, 3), EditDistance(tc.a, tc.b, 2), "%s %s", tc.a, tc.b)
	}
}

func TestServiceRebuilds(t *testing.T) {
	var loads atomic.Int64
	version := int64(1)
	now := time.Unix(0, 0)
	s := &Service{
		Load: func(context.Context) ([]Doc, error) {
			n := loads.Add(1)
			return []Doc{{Kind: KindTable, Catalog: "quiver", Schema: "s", Table: fmt.Sprintf("t%d", n)}}, nil
		},
		Version: func() int64 { return version },
		Now:     func() time.Time { return now },
	}
	ctx := context.Background()
	ix, err := s.Index(ctx)
	require.NoError(t, err)
	again, err := s.Index(ctx)
	require.NoError(t, err)
	require.Same(t, ix, again, "fresh: no rebuild")
	version = 2
	ix, err = s.Index(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"quiver.s.t2"}, names(ix.Search("t2", 1, nil)), "a new catalog file version rebuilds")
	now = now.Add(DefaultMaxAge)
	_, err = s.Index(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), loads.Load(), "an old index rebuilds")

	failing := &Service{Load: func(context.Context) ([]Doc, error) { return nil, errors.New("listing failed") }}
	_, err = failing.Index(ctx)
	require.ErrorContains(t, err, "build the search index: listing failed")
}
