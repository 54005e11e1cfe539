package flightserver

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// prepared is an open prepared statement: its SQL, its parameters (names
// and the types it declared) and the last bound values. Files are pinned
// when it is executed, not when it is prepared.
type prepared struct {
	sql    string
	params []string
	types  []arrow.DataType
	args   []any
}

// CreatePreparedStatement validates the statement and returns its handle,
// its result schema and its parameter schema (JDBC needs one to accept
// parameters at all). Parameter types are what DuckDB infers, widened so
// client libraries bind without conversions (integers as int64, numbers as
// float64, dates, timestamps and anything else as strings DuckDB casts);
// clients may still send other types.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, fmt.Errorf("transactions are not supported; Quiver is read-only")
	}
	sql := req.GetQuery()
	plan, err := s.opts.Planner.Type(ctx, sql)
	s.audit(ctx, "prepare", sql, plan, err)
	if err != nil {
		return res, inStatement(sql, plan, err)
	}
	schema, err := s.resultSchema(ctx, plan, nil)
	if err != nil {
		return res, inStatement(sql, plan, err)
	}
	params, err := s.opts.Runner.ParamTypes(ctx, plan)
	if err != nil {
		return res, inStatement(sql, plan, err)
	}
	if len(params) != len(plan.ParamNames) {
		// The names are the planner's count, the types DuckDB's: without
		// one type per name, check only the count.
		params = nil
	}
	id, err := s.prepared.put(s.opts.Access.Principal(ctx), &prepared{sql: sql, params: plan.ParamNames, types: params})
	if err != nil {
		return res, err
	}
	if len(params) > 0 {
		fields := make([]arrow.Field, len(params))
		for i, t := range params {
			fields[i] = arrow.Field{Name: plan.ParamNames[i], Type: t, Nullable: true}
		}
		res.ParameterSchema = arrow.NewSchema(fields, nil)
	}
	res.Handle = []byte(id)
	res.DatasetSchema = schema
	return res, nil
}

// ClosePreparedStatement forgets a handle.
func (s *Server) ClosePreparedStatement(ctx context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	if !s.prepared.remove(s.opts.Access.Principal(ctx), string(req.GetPreparedStatementHandle())) {
		return ErrStatementUnknown
	}
	return nil
}

// DoPutPreparedStatementQuery binds parameters: one row of values, as
// many as the statement has parameters, each one its parameter's type can
// take (checkParams).
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	principal, handle := s.opts.Access.Principal(ctx), string(cmd.GetPreparedStatementHandle())
	ps, ok := s.prepared.get(principal, handle)
	if !ok {
		return nil, ErrStatementUnknown
	}
	var args []any
	rows := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			rows++
			if rows > 1 {
				return nil, fmt.Errorf("%w: %d parameter rows; a query binds exactly one row", ErrBadParameters, rows)
			}
			v, err := rowValues(rec, i)
			if err != nil {
				return nil, err
			}
			args = v
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("%w: read parameters: %v", ErrBadParameters, err)
	}
	if rows > 0 {
		if err := checkParams("prepared statement", ps.params, ps.types, args); err != nil {
			return nil, err
		}
	}
	s.prepared.update(principal, handle, &prepared{sql: ps.sql, params: ps.params, types: ps.types, args: args})
	return []byte(handle), nil
}

// GetFlightInfoPreparedStatement plans the statement with its bound
// parameters; a statement whose parameters are not all bound fails here,
// before anything runs.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	ps, ok := s.prepared.get(s.opts.Access.Principal(ctx), string(cmd.GetPreparedStatementHandle()))
	if !ok {
		return nil, ErrStatementUnknown
	}
	if err := checkParams("prepared statement", ps.params, nil, ps.args); err != nil {
		return nil, err
	}
	info, err := s.flightInfo(ctx, ps.sql, ps.args, desc, "")
	return info, err
}

// GetSchemaPreparedStatement returns the result schema with the bound parameters.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	ps, ok := s.prepared.get(s.opts.Access.Principal(ctx), string(cmd.GetPreparedStatementHandle()))
	if !ok {
		return nil, ErrStatementUnknown
	}
	res, err := s.schemaResult(ctx, ps.sql, ps.args)
	return res, err
}
