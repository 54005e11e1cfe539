package flightserver

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// The kinds of table Quiver serves: warehouse tables, and the system
// tables under schema "system" (JDBC's standard name for the kind).
const (
	tableType       = "TABLE"
	systemTableType = "SYSTEM TABLE"
)

// listedTable is one row of GetTables: a warehouse or Iceberg table, or a
// system table (system is then its Arrow schema).
type listedTable struct {
	name   storage.TableName
	kind   string
	system *arrow.Schema
	// catalog and schema are what the listing shows: quiver and the
	// name's schema, or an Iceberg catalog and its namespace.
	catalog, schema string
}

// catalogOf splits a table name into its catalog and schema: an Iceberg
// table's schema is "<catalog>.<namespace>".
func (s *Server) catalogOf(n storage.TableName) (catalog, schema string) {
	if c, ns, ok := strings.Cut(n.Schema, "."); ok && containsFold(s.opts.IcebergCatalogs, c) {
		return c, ns
	}
	return planner.CatalogName, n.Schema
}

// infoForCommand answers a metadata request with one endpoint whose ticket
// is the command itself, as Flight SQL servers conventionally do.
func (s *Server) infoForCommand(desc *flight.FlightDescriptor, schema *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(schema, s.mem),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// one sends a single batch as a stream.
func one(rec arrow.RecordBatch) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return rec.Schema(), ch, nil
}

// GetFlightInfoCatalogs lists catalogs.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoForCommand(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs returns the warehouse's catalog and the Iceberg catalogs.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.Catalogs)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(planner.CatalogName)
	for _, c := range s.opts.IcebergCatalogs {
		b.Field(0).(*array.StringBuilder).Append(c)
	}
	return one(b.NewRecordBatch())
}

// GetFlightInfoSchemas lists schemas.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoForCommand(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas returns the schemas that hold a table the caller may
// see, the system schema included, and the Iceberg namespaces that hold
// no table at all (a namespace whose every table is hidden from the
// caller stays hidden too).
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	all, err := s.opts.Catalog.Tables(ctx)
	if err != nil {
		return nil, nil, err
	}
	listed := s.tablesOf(ctx, all, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), nil, nil)
	type schemaRow struct{ catalog, schema string }
	var rows []schemaRow
	seen := map[schemaRow]bool{}
	for _, l := range listed {
		r := schemaRow{l.catalog, l.schema}
		if !seen[r] {
			seen[r] = true
			rows = append(rows, r)
		}
	}
	empty, err := s.emptyNamespaces(ctx, all, cmd.GetCatalog(), likePattern(cmd.GetDBSchemaFilterPattern()))
	if err != nil {
		return nil, nil, err
	}
	for _, e := range empty {
		if r := (schemaRow{e[0], e[1]}); !seen[r] {
			seen[r] = true
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b schemaRow) int {
		return cmp.Or(cmp.Compare(a.catalog, b.catalog), cmp.Compare(a.schema, b.schema))
	})
	b := array.NewRecordBuilder(s.mem, schema_ref.DBSchemas)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.catalog)
		b.Field(1).(*array.StringBuilder).Append(r.schema)
	}
	return one(b.NewRecordBatch())
}

// emptyNamespaces lists, as {catalog, namespace}, the namespaces of the
// Iceberg catalogs asked for that match schemaRE and hold none of all.
func (s *Server) emptyNamespaces(ctx context.Context, all []storage.TableName, catalog *string, schemaRE *regexp.Regexp) ([][2]string, error) {
	nl, ok := s.opts.Catalog.(NamespaceLister)
	if !ok || len(s.opts.IcebergCatalogs) == 0 {
		return nil, nil
	}
	holding := map[string]bool{}
	for _, n := range all {
		holding[n.Schema] = true
	}
	var out [][2]string
	for _, c := range s.opts.IcebergCatalogs {
		if catalog != nil && *catalog != "" && !strings.EqualFold(*catalog, c) {
			continue
		}
		nss, err := nl.Namespaces(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("list the namespaces of catalog %s: %w", c, err)
		}
		for _, ns := range nss {
			if !holding[c+"."+ns] && schemaRE.MatchString(ns) {
				out = append(out, [2]string{c, ns})
			}
		}
	}
	return out, nil
}

// GetFlightInfoTables lists tables.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	schema := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		schema = schema_ref.TablesWithIncludedSchema
	}
	return s.infoForCommand(desc, schema), nil
}

// DoGetTables returns the tables that match, with their Arrow schemas when
// asked: exactly the schemas `SELECT *` of each table returns.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	listed, err := s.tables(ctx, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), cmd.GetTableNameFilterPattern(), cmd.GetTableTypes())
	if err != nil {
		return nil, nil, err
	}
	b := array.NewRecordBuilder(s.mem, tablesSchema(cmd.GetIncludeSchema()))
	defer b.Release()
	for _, l := range listed {
		var schema *arrow.Schema
		if cmd.GetIncludeSchema() {
			if schema = l.system; schema == nil {
				var t *storage.Table
				schema, t, err = s.tableSchema(ctx, l.name)
				if errkind.Of(err) == errkind.Unimplemented {
					// A table Quiver cannot read (system.tables says why)
					// has no schema to list.
					s.logger.Debug("table without a schema in GetTables", "table", l.name.String(), "err", err)
					continue
				}
				if err != nil {
					return nil, nil, err
				}
				schema = s.remarked(l, t, schema)
			}
		}
		b.Field(0).(*array.StringBuilder).Append(l.catalog)
		b.Field(1).(*array.StringBuilder).Append(l.schema)
		b.Field(2).(*array.StringBuilder).Append(l.name.Name)
		b.Field(3).(*array.StringBuilder).Append(l.kind)
		if schema != nil {
			b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(schema, s.mem))
		}
	}
	return one(b.NewRecordBatch())
}

// remarked gives each column of a listed table's schema what is said
// about it (the catalog file's description over an Iceberg column's doc)
// as its ARROW:FLIGHT:SQL:REMARKS, which JDBC's getColumns reports as
// REMARKS. t is the table tableSchema resolved.
func (s *Server) remarked(l listedTable, t *storage.Table, sc *arrow.Schema) *arrow.Schema {
	var meta *catalogmeta.Catalog
	if s.opts.Meta != nil {
		meta = s.opts.Meta()
	}
	about := systables.TableEntry(meta, l.catalog, l.schema, t).Columns
	if len(about) == 0 {
		return sc
	}
	fields := sc.Fields()
	for i, f := range fields {
		d := about[strings.ToLower(f.Name)].Description
		if d == "" {
			continue
		}
		keys, vals := []string{flightsql.RemarksKey}, []string{d}
		for j, k := range f.Metadata.Keys() {
			if k != flightsql.RemarksKey {
				keys, vals = append(keys, k), append(vals, f.Metadata.Values()[j])
			}
		}
		fields[i].Metadata = arrow.NewMetadata(keys, vals)
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}

func tablesSchema(withSchema bool) *arrow.Schema {
	if withSchema {
		return schema_ref.TablesWithIncludedSchema
	}
	return schema_ref.Tables
}

// GetFlightInfoTableTypes lists table types.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoForCommand(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes returns the table types, sorted as JDBC sorts them.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(systemTableType)
	b.Field(0).(*array.StringBuilder).Append(tableType)
	return one(b.NewRecordBatch())
}

// tables lists warehouse and Iceberg tables and then system tables,
// filtered the Flight SQL way: catalog exact (case-insensitive), schema
// and table by LIKE patterns, kinds by name (none given: every kind).
func (s *Server) tables(ctx context.Context, catalog, schemaPattern, tablePattern *string, kinds []string) ([]listedTable, error) {
	var all []storage.TableName
	if len(kinds) == 0 || containsFold(kinds, tableType) {
		var err error
		if all, err = s.opts.Catalog.Tables(ctx); err != nil {
			return nil, err
		}
	}
	return s.tablesOf(ctx, all, catalog, schemaPattern, tablePattern, kinds), nil
}

// tablesOf is tables over the data tables all, already listed.
func (s *Server) tablesOf(ctx context.Context, all []storage.TableName, catalog, schemaPattern, tablePattern *string, kinds []string) []listedTable {
	schemaRE, tableRE := likePattern(schemaPattern), likePattern(tablePattern)
	match := func(l listedTable) bool {
		return (catalog == nil || *catalog == "" || strings.EqualFold(*catalog, l.catalog)) &&
			schemaRE.MatchString(l.schema) && tableRE.MatchString(l.name.Name) && (len(kinds) == 0 || containsFold(kinds, l.kind))
	}
	var out []listedTable
	if len(kinds) == 0 || containsFold(kinds, tableType) {
		for _, n := range all {
			l := listedTable{name: n, kind: tableType}
			l.catalog, l.schema = s.catalogOf(n)
			// With a policy, principals see only the tables granted to them.
			if match(l) && (s.opts.Access.Visible == nil || s.opts.Access.Visible(ctx, n)) {
				out = append(out, l)
			}
		}
	}
	if s.opts.System != nil {
		// Everyone may query the system tables (each shows a principal
		// only its own rows unless it is an admin), so everyone sees them.
		for _, name := range s.opts.System.Names() {
			n := storage.TableName{Schema: systables.Schema, Name: name}
			l := listedTable{name: n, kind: systemTableType, catalog: planner.CatalogName, schema: n.Schema}
			if t, ok := s.opts.System.Get(name); ok && match(l) {
				l.system = t.Schema()
				out = append(out, l)
			}
		}
	}
	return out
}

// likePattern compiles a SQL LIKE pattern (% and _, backslash escapes);
// nil or empty matches everything.
func likePattern(p *string) *regexp.Regexp {
	if p == nil || *p == "" {
		return regexp.MustCompile(".*")
	}
	var sb strings.Builder
	sb.WriteString("^(?s)")
	escaped := false
	for _, r := range *p {
		switch {
		case escaped:
			sb.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == '\\':
			escaped = true
		case r == '%':
			sb.WriteString(".*")
		case r == '_':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// tableSchema is the schema `SELECT *` of a table returns to this
// principal, and the table: with a policy, planned like any query so
// denied columns are absent and masked ones have their masks' types.
func (s *Server) tableSchema(ctx context.Context, n storage.TableName) (*arrow.Schema, *storage.Table, error) {
	if s.opts.Access.Visible != nil {
		plan, err := s.opts.Planner.Type(ctx, "SELECT * FROM "+engine.QuoteIdent(n.Schema)+"."+engine.QuoteIdent(n.Name))
		if err != nil {
			return nil, nil, err
		}
		if len(plan.Tables) != 1 {
			return nil, nil, fmt.Errorf("type table %s: the plan reads %d tables, not 1", n, len(plan.Tables))
		}
		sc, err := s.opts.Runner.Schema(ctx, plan, nil)
		return sc, plan.Tables[0], err
	}
	t, err := s.opts.Catalog.Table(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	sc, err := s.opts.Runner.TableSchema(ctx, t)
	return sc, t, err
}
