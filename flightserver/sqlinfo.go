package flightserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
)

// registerSQLInfo declares what GetSqlInfo reports.
func (s *Server) registerSQLInfo() error {
	version := s.opts.Version
	if version == "" {
		version = "dev"
	}
	info := map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:         "Quiver",
		flightsql.SqlInfoFlightSqlServerVersion:      version,
		flightsql.SqlInfoFlightSqlServerArrowVersion: arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:     true,
		flightsql.SqlInfoFlightSqlServerSql:          true,
		flightsql.SqlInfoFlightSqlServerSubstrait:    false,
		flightsql.SqlInfoFlightSqlServerTransaction:  int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:       false,
		flightsql.SqlInfoDDLCatalog:                  false,
		flightsql.SqlInfoDDLSchema:                   false,
		flightsql.SqlInfoDDLTable:                    false,
		flightsql.SqlInfoIdentifierCase:              int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoIdentifierQuoteChar:         `"`,
		flightsql.SqlInfoQuotedIdentifierCase:        int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoAllTablesAreASelectable:     true,
		flightsql.SqlInfoNullOrdering:                int64(flightsql.SqlNullOrderingSortAtEnd),
		flightsql.SqlInfoTransactionsSupported:       false,
		flightsql.SqlInfoCatalogTerm:                 "catalog",
		flightsql.SqlInfoSchemaTerm:                  "schema",
		flightsql.SqlInfoSearchStringEscape:          `\`,
	}
	for id, v := range info {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return fmt.Errorf("register sql info %s: %w", id, err)
		}
	}
	return nil
}

// xdbcType is one row of GetXdbcTypeInfo.
type xdbcType struct {
	name     string
	sqlType  int32 // java.sql.Types
	size     int32
	quoted   bool
	params   string // create params, comma separated
	unsigned bool
}

// xdbcTypes are the DuckDB types Quiver returns, as JDBC/ODBC see them.
var xdbcTypes = []xdbcType{
	{"BOOLEAN", 16, 1, false, "", false},
	{"TINYINT", -6, 3, false, "", false},
	{"SMALLINT", 5, 5, false, "", false},
	{"INTEGER", 4, 10, false, "", false},
	{"BIGINT", -5, 19, false, "", false},
	{"FLOAT", 7, 7, false, "", false},
	{"DOUBLE", 8, 15, false, "", false},
	{"DECIMAL", 3, 38, false, "precision,scale", false},
	{"VARCHAR", 12, 1 << 30, true, "", false},
	{"BLOB", -3, 1 << 30, true, "", false},
	{"DATE", 91, 10, true, "", false},
	{"TIME", 92, 15, true, "", false},
	{"TIMESTAMP", 93, 26, true, "", false},
	{"TIMESTAMP WITH TIME ZONE", 2014, 32, true, "", false},
}

// GetFlightInfoXdbcTypeInfo describes the types result sets may contain.
func (s *Server) GetFlightInfoXdbcTypeInfo(_ context.Context, _ flightsql.GetXdbcTypeInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoForCommand(desc, schema_ref.XdbcTypeInfo), nil
}

// DoGetXdbcTypeInfo returns the type table, filtered by data type if asked.
func (s *Server) DoGetXdbcTypeInfo(_ context.Context, cmd flightsql.GetXdbcTypeInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.XdbcTypeInfo)
	defer b.Release()
	for _, t := range xdbcTypes {
		if dt := cmd.GetDataType(); dt != nil && *dt != t.sqlType {
			continue
		}
		appendXdbc(b, t)
	}
	return one(b.NewRecordBatch())
}

func appendXdbc(b *array.RecordBuilder, t xdbcType) {
	str := func(i int, v string, null bool) {
		if null {
			b.Field(i).AppendNull()
			return
		}
		b.Field(i).(*array.StringBuilder).Append(v)
	}
	i32 := func(i int, v int32) { b.Field(i).(*array.Int32Builder).Append(v) }
	boolean := func(i int, v bool) { b.Field(i).(*array.BooleanBuilder).Append(v) }
	str(0, t.name, false)
	i32(1, t.sqlType)
	i32(2, t.size)
	str(3, "'", !t.quoted)
	str(4, "'", !t.quoted)
	lb := b.Field(5).(*array.ListBuilder)
	lb.Append(true)
	if t.params != "" {
		for _, p := range strings.Split(t.params, ",") {
			lb.ValueBuilder().(*array.StringBuilder).Append(p)
		}
	}
	i32(6, 1) // nullable
	boolean(7, t.quoted)
	i32(8, 3) // searchable
	boolean(9, t.unsigned)
	boolean(10, false)
	boolean(11, false)
	str(12, t.name, false)
	b.Field(13).AppendNull()
	b.Field(14).AppendNull()
	i32(15, t.sqlType)
	b.Field(16).AppendNull()
	b.Field(17).AppendNull()
	b.Field(18).AppendNull()
}
