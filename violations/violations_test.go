package violations

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/detect"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// tables is a catalog of fixed tables.
type tables map[storage.TableName][]storage.Column

func (ts tables) Table(_ context.Context, name storage.TableName) (*storage.Table, error) {
	cols, ok := ts[name]
	if !ok {
		return nil, errors.New("no such table")
	}
	return &storage.Table{Name: name, Columns: cols}, nil
}

func str(name string) storage.Column {
	return storage.Column{Name: name, Type: arrow.BinaryTypes.String}
}

var (
	people = storage.TableName{Schema: "crm", Name: "people"}
	orders = storage.TableName{Schema: "lake.sales", Name: "orders"}
	fixed  = tables{
		people: {{Name: "id", Type: arrow.PrimitiveTypes.Int64}, str("Email"), str("phone"), str("notes")},
		orders: {str("card"), {Name: "amount", Type: arrow.PrimitiveTypes.Float64}},
	}
)

func col(catalog, schema, table, column string) lineage.Column {
	return lineage.Column{Catalog: catalog, Schema: schema, Table: table, Column: column}
}

func finding(c lineage.Column, kind string) detect.Result {
	return detect.Result{Catalog: c.Catalog, Schema: c.Schema, Table: c.Table, Column: c.Column, Finding: detect.Finding{Kind: kind}}
}

var (
	email = col("quiver", "crm", "people", "Email")
	phone = col("quiver", "crm", "people", "phone")
	notes = col("quiver", "crm", "people", "notes")
	card  = col("lake", "sales", "orders", "card")
)

// the catalog file tags email; the detection job suggests email again,
// phone, notes and the Iceberg table's card; a gone table is ignored.
const catalogFile = `
tables:
  crm.people:
    columns:
      email: {tags: ["pii:email", "owner:crm"]}
`

func findings() []detect.Result {
	return []detect.Result{finding(email, "email"), finding(phone, "phone"), finding(notes, "person_name"),
		finding(card, "payment_card"), finding(col("quiver", "crm", "gone", "x"), "email")}
}

// policyFile grants crm.people to three roles: the analyst gets phone
// masked by name and email by tag; support has email denied; privacy is
// exempted from the tag rule. Nobody is granted lake.sales.orders.
const policyFile = `
rules:
  - match: {roles: [analyst]}
    tables: [crm.people]
    masks: {crm.people: {phone: "'***'"}}
  - match: {roles: [support]}
    tables: [crm.people]
    deny_columns: {crm.people: [email]}
  - match: {roles: [privacy]}
    tables: [crm.people]
  - match: {except_roles: [privacy]}
    mask_tags: {"pii:email": "'***'"}
`

func newTable(t *testing.T, withPolicy bool, reports func() []systables.QueryRecord) (*Table, *prometheus.Registry) {
	t.Helper()
	meta, err := catalogmeta.Parse([]byte(catalogFile))
	require.NoError(t, err)
	var store *policy.Store
	if withPolicy {
		file := filepath.Join(t.TempDir(), "policy.yaml")
		require.NoError(t, os.WriteFile(file, []byte(policyFile), 0o600))
		resources := func(_ context.Context, name storage.TableName, columns []storage.Column) policy.Resource {
			r := policy.NameOnly(name)
			entry := meta.Table(catalogmeta.NewKey(r.Catalog, r.Schema, r.Table))
			for _, c := range columns {
				r.Columns = append(r.Columns, policy.Column{Name: c.Name, Type: "VARCHAR", Tags: entry.Columns[strings.ToLower(c.Name)].Tags})
			}
			return r
		}
		store, err = policy.Open(context.Background(), policy.FileLoader(file, nil), resources)
		require.NoError(t, err)
	}
	reg := prometheus.NewRegistry()
	return New(Options{Tables: fixed, Meta: func() *catalogmeta.Catalog { return meta }, Findings: findings,
		Policy: store, Reports: reports, Registerer: reg}), reg
}

// row is a violation as "violation column pii evidence principal
// report published_as".
func rows(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Join([]string{v.Violation, v.Column.String(), v.PII, v.Evidence, v.Principal, v.Report, v.PublishedAs}, " ")
	}
	return out
}

func TestReadableUnderPolicy(t *testing.T) {
	tbl, reg := newTable(t, true, nil)
	found, err := tbl.Check(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{
		// email: masked by tag for the analyst, denied to support,
		// deliberately readable by privacy; anyone is granted nothing.
		"readable_unmasked quiver.crm.people.notes person_name detection_suggested role:analyst  ",
		"readable_unmasked quiver.crm.people.notes person_name detection_suggested role:privacy  ",
		"readable_unmasked quiver.crm.people.notes person_name detection_suggested role:support  ",
		"readable_unmasked quiver.crm.people.phone phone detection_suggested role:privacy  ",
		"readable_unmasked quiver.crm.people.phone phone detection_suggested role:support  ",
	}, rows(found))
	require.Equal(t, 5.0, testutil.ToFloat64(tbl.gauge.WithLabelValues(Readable)))
	require.Equal(t, 0.0, testutil.ToFloat64(tbl.gauge.WithLabelValues(Published)))
	n, err := testutil.GatherAndCount(reg, "quiver_pii_violations")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestReadableWithoutPolicy(t *testing.T) {
	tbl, _ := newTable(t, false, nil)
	found, err := tbl.Check(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{
		"readable_unmasked lake.sales.orders.card payment_card detection_suggested anyone  ",
		"readable_unmasked quiver.crm.people.Email email tag anyone  ",
		"readable_unmasked quiver.crm.people.notes person_name detection_suggested anyone  ",
		"readable_unmasked quiver.crm.people.phone phone detection_suggested anyone  ",
	}, rows(found), "everyone reads everything; the tag and the suggestion of email are one row, named as the table spells it")
}

// TestPublished: a report's latest run publishes a PII column that
// reaches an output unchanged or through an expression, unless the
// policy's mask was in the way; an aggregate publishes nothing.
func TestPublished(t *testing.T) {
	run := lineage.Run{Report: "daily_contacts", RunID: "r7", Output: "s3://reports/daily.parquet"}
	reports := func() []systables.QueryRecord {
		return []systables.QueryRecord{
			{Run: run, Lineage: []lineage.Edge{
				{Output: "contact", Source: col("quiver", "crm", "people", "email"), Kind: lineage.Identity},
				{Output: "calls", Source: phone, Kind: lineage.Aggregate},
				{Output: "who", Source: notes, Kind: lineage.Expression, Policy: true},
				{Output: "digits", Source: phone, Kind: lineage.Expression},
				{Source: card, Kind: lineage.Filter},
				{Output: "amount", Source: col("lake", "sales", "orders", "amount"), Kind: lineage.Identity},
			}},
		}
	}
	tbl, _ := newTable(t, true, reports)
	found, err := tbl.Check(context.Background())
	require.NoError(t, err)
	var published []Violation
	for _, v := range found {
		if v.Violation == Published {
			published = append(published, v)
		}
	}
	require.Equal(t, []string{
		"published quiver.crm.people.email email tag  daily_contacts s3://reports/daily.parquet#contact",
		"published quiver.crm.people.phone phone detection_suggested  daily_contacts s3://reports/daily.parquet#digits",
	}, rows(published))
	require.Equal(t, 2.0, testutil.ToFloat64(tbl.gauge.WithLabelValues(Published)))

	// Admins see the rows, others none.
	for admin, want := range map[bool]int64{true: int64(len(found)), false: 0} {
		rec, err := tbl.Rows(context.Background(), systables.Viewer{Principal: "ann", Admin: admin})
		require.NoError(t, err)
		require.Equal(t, want, rec.NumRows(), "admin %v", admin)
		require.True(t, rec.Schema().Equal(tbl.Schema()))
		rec.Release()
	}
}
