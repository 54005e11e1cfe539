package search

import (
	"fmt"
	"testing"

	"github.com/quiver-data/quiver/storage"
)

// synthetic is a catalog of 1000 tables of 100 columns each, with names
// and descriptions drawn from a small vocabulary, as a large lake's are.
func synthetic() []Doc {
	words := []string{"revenue", "customer", "order", "invoice", "account", "email", "country", "amount", "status",
		"created", "updated", "product", "region", "channel", "campaign", "session", "device", "payment", "refund", "tax"}
	var docs []Doc
	for t := range 1000 {
		name := storage.TableName{Schema: fmt.Sprintf("s%d", t%20), Name: fmt.Sprintf("%s_%s_%d", words[t%20], words[(t/20)%20], t)}
		docs = append(docs, Doc{Kind: KindTable, Name: name, Catalog: "quiver", Schema: name.Schema, Table: name.Name,
			Description: "All " + words[(t*7)%20] + " records by " + words[(t*3)%20]})
		for c := range 100 {
			docs = append(docs, Doc{Kind: KindColumn, Name: name, Catalog: "quiver", Schema: name.Schema, Table: name.Name,
				Column: fmt.Sprintf("%s_%s_%d", words[c%20], words[(c*11)%20], c), Type: "VARCHAR",
				Description: "The " + words[(c*13+t)%20] + " of the " + words[(c+t)%20], Tags: []string{"tier:" + words[c%3]}})
		}
	}
	return docs
}

func BenchmarkBuild(b *testing.B) {
	docs := synthetic()
	b.ResetTimer()
	for b.Loop() {
		Build(docs)
	}
}

func BenchmarkSearch(b *testing.B) {
	ix := Build(synthetic())
	for _, text := range []string{"revenue", "revnue", "customer email", "paymnt refnd"} {
		b.Run(text, func(b *testing.B) {
			for b.Loop() {
				ix.Search(text, 20, nil)
			}
		})
	}
}
