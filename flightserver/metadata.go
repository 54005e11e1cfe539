package flightserver

import (
	"context"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// tableType is the only kind of table Quiver serves.
const tableType = "TABLE"

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

// DoGetCatalogs returns the one catalog.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.Catalogs)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(planner.CatalogName)
	return one(b.NewRecordBatch())
}

// GetFlightInfoSchemas lists schemas.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoForCommand(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas returns the schemas that hold at least one table.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	names, err := s.tables(ctx, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), nil)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	b := array.NewRecordBuilder(s.mem, schema_ref.DBSchemas)
	defer b.Release()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n.Schema] {
			continue
		}
		seen[n.Schema] = true
		b.Field(0).(*array.StringBuilder).Append(planner.CatalogName)
		b.Field(1).(*array.StringBuilder).Append(n.Schema)
	}
	return one(b.NewRecordBatch())
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
	if types := cmd.GetTableTypes(); len(types) > 0 && !containsFold(types, tableType) {
		b := array.NewRecordBuilder(s.mem, tablesSchema(cmd.GetIncludeSchema()))
		defer b.Release()
		return one(b.NewRecordBatch())
	}
	names, err := s.tables(ctx, cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), cmd.GetTableNameFilterPattern())
	if err != nil {
		return nil, nil, toStatus(err)
	}
	b := array.NewRecordBuilder(s.mem, tablesSchema(cmd.GetIncludeSchema()))
	defer b.Release()
	for _, n := range names {
		b.Field(0).(*array.StringBuilder).Append(planner.CatalogName)
		b.Field(1).(*array.StringBuilder).Append(n.Schema)
		b.Field(2).(*array.StringBuilder).Append(n.Name)
		b.Field(3).(*array.StringBuilder).Append(tableType)
		if cmd.GetIncludeSchema() {
			schema, err := s.tableSchema(ctx, n)
			if err != nil {
				return nil, nil, toStatus(err)
			}
			b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(schema, s.mem))
		}
	}
	return one(b.NewRecordBatch())
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

// DoGetTableTypes returns the one table type.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(tableType)
	return one(b.NewRecordBatch())
}

// tables lists warehouse tables filtered the Flight SQL way: catalog exact,
// schema and table by LIKE patterns.
func (s *Server) tables(ctx context.Context, catalog, schemaPattern, tablePattern *string) ([]storage.TableName, error) {
	if catalog != nil && *catalog != "" && !strings.EqualFold(*catalog, planner.CatalogName) {
		return nil, nil
	}
	all, err := s.opts.Catalog.Tables(ctx)
	if err != nil {
		return nil, err
	}
	schemaRE, tableRE := likePattern(schemaPattern), likePattern(tablePattern)
	var out []storage.TableName
	for _, n := range all {
		if !schemaRE.MatchString(n.Schema) || !tableRE.MatchString(n.Name) {
			continue
		}
		// With a policy, principals see only the tables granted to them.
		if s.opts.Visible != nil && !s.opts.Visible(ctx, n) {
			continue
		}
		out = append(out, n)
	}
	return out, nil
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
// principal: with a policy, planned like any query so denied columns are
// absent and masked ones have their masks' types.
func (s *Server) tableSchema(ctx context.Context, n storage.TableName) (*arrow.Schema, error) {
	if s.opts.Visible != nil {
		plan, err := s.opts.Planner.Type(ctx, "SELECT * FROM "+engine.QuoteIdent(n.Schema)+"."+engine.QuoteIdent(n.Name))
		if err != nil {
			return nil, err
		}
		return s.opts.Runner.Schema(ctx, plan, nil)
	}
	t, err := s.opts.Catalog.Table(ctx, n)
	if err != nil {
		return nil, err
	}
	return s.opts.Runner.TableSchema(ctx, t)
}
