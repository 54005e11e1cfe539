package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/arrowmapping"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// Streaming results.
//
// duckdb-go's Arrow interface executes a query with DuckDB's materializing
// result: the whole result is built in memory before the first batch can be
// read. A streaming result (duckdb_pending_prepared_streaming) runs the
// blocking parts of the plan (aggregates, sorts, join builds) when it is
// executed and the rest while it is fetched, a few chunks ahead of the
// reader, on all of DuckDB's threads. So the first batch leaves as soon as
// it exists and memory stays at DuckDB's small streaming buffer.
//
// duckdb-go keeps the raw DuckDB handles it would need unexported. The
// statement is still prepared and bound by duckdb-go (so every one of its
// Go → DuckDB conversions applies); the handles are then read from its
// structs at offsets found by reflection, after checking each field's name
// and type. If a future duckdb-go changes that layout, Open logs it once
// and every query takes the materializing path.

// interruptEvery is how often a canceled query's connection is interrupted
// again until the query has stopped: DuckDB clears an interrupt that comes
// before a query (or a phase of one) started, so one is not always enough
// (duckdb-go's runWithCtxInterrupt does the same).
const interruptEvery = 500 * time.Millisecond

// driverLayout locates the unexported DuckDB handles inside duckdb-go's
// driver structs.
type driverLayout struct {
	conn uintptr // offset of duckdb.Conn.conn (mapping.Connection)
	stmt uintptr // offset of duckdb.Stmt.preparedStmt (*mapping.PreparedStatement)
}

// findDriverLayout checks that duckdb-go's structs still hold the handles
// where this file expects them, by name and type.
func findDriverLayout() (*driverLayout, error) {
	return layoutOf(reflect.TypeFor[duckdb.Conn](), reflect.TypeFor[duckdb.Stmt]())
}

// layoutOf finds the handles in the given connection and statement types.
func layoutOf(connType, stmtType reflect.Type) (*driverLayout, error) {
	field := func(owner, want reflect.Type, name string) (uintptr, error) {
		f, ok := owner.FieldByName(name)
		if !ok {
			return 0, fmt.Errorf("duckdb-go %s has no field %s", owner, name)
		}
		if f.Type != want || len(f.Index) != 1 {
			return 0, fmt.Errorf("duckdb-go %s.%s is a %s, expected %s", owner, name, f.Type, want)
		}
		return f.Offset, nil
	}
	connOff, err := field(connType, reflect.TypeFor[mapping.Connection](), "conn")
	if err != nil {
		return nil, err
	}
	stmtOff, err := field(stmtType, reflect.TypeFor[*mapping.PreparedStatement](), "preparedStmt")
	if err != nil {
		return nil, err
	}
	return &driverLayout{conn: connOff, stmt: stmtOff}, nil
}

func (l *driverLayout) connection(c *duckdb.Conn) mapping.Connection {
	return *(*mapping.Connection)(unsafe.Add(unsafe.Pointer(c), l.conn))
}

func (l *driverLayout) prepared(s *duckdb.Stmt) *mapping.PreparedStatement {
	return *(**mapping.PreparedStatement)(unsafe.Add(unsafe.Pointer(s), l.stmt))
}

// errStreamUnavailable means a streaming result could not be started
// (DuckDB refused to create it); the materializing path runs instead.
var errStreamUnavailable = errors.New("streaming result unavailable")

// queryArrowOn runs query on conn and returns its Arrow stream: a
// streaming one when the driver layout allows, else duckdb-go's
// materializing one. The first batch has been fetched when it returns, so
// errors that come before any row (binding, planning, the blocking phases
// of the plan, an interrupt) are returned here, not by the reader. The
// caller keeps conn reserved until it released the reader.
func (db *DB) queryArrowOn(ctx context.Context, conn *sql.Conn, query string, args []any) (array.RecordReader, error) {
	if db.layout == nil {
		return materializedOn(ctx, conn, query, args)
	}
	var rdr array.RecordReader
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("not a duckdb connection: %T", dc)
		}
		sr, err := db.startStream(ctx, c, query, args)
		if errors.Is(err, errStreamUnavailable) {
			db.logger.Debug("streaming result unavailable; materializing", "err", err)
			rdr, err = materialized(ctx, c, query, args)
			return err
		}
		if err != nil {
			return err
		}
		rdr = sr
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rdr, nil
}

// materializedOn is duckdb-go's own Arrow query: the whole result is
// materialized before the first batch.
func materializedOn(ctx context.Context, conn *sql.Conn, query string, args []any) (array.RecordReader, error) {
	var rdr array.RecordReader
	err := conn.Raw(func(dc any) error {
		var err error
		rdr, err = materialized(ctx, dc, query, args)
		return err
	})
	return rdr, err
}

func materialized(ctx context.Context, dc any, query string, args []any) (array.RecordReader, error) {
	dconn, ok := dc.(driver.Conn)
	if !ok {
		return nil, fmt.Errorf("not a driver connection: %T", dc)
	}
	ar, err := duckdb.NewArrowFromConn(dconn)
	if err != nil {
		return nil, err
	}
	return ar.QueryContext(ctx, query, args...)
}

// startStream prepares, binds and executes query as a streaming result on
// c and fetches its first chunk.
func (db *DB) startStream(ctx context.Context, c *duckdb.Conn, query string, args []any) (_ *streamReader, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw := db.layout.connection(c)
	// The watch covers prepare too: binding read_parquet reads footers,
	// which over S3 can take a while.
	stopWatch := watchInterrupt(ctx, raw)
	r := &streamReader{ctx: ctx, stopWatch: stopWatch, layout: db.layout, refs: 1}
	defer func() {
		if err != nil {
			r.destroy()
		}
	}()
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, errors.Join(ctx.Err(), err)
	}
	ds, ok := st.(*duckdb.Stmt)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("not a duckdb statement: %T", st)
	}
	r.stmt = ds
	if err := ds.Bind(namedArgs(args)); err != nil {
		return nil, err
	}
	if err := r.execute(); err != nil {
		var pe pendingError
		switch {
		case errors.As(err, &pe) && ctx.Err() != nil:
			return nil, errors.Join(ctx.Err(), err)
		case errors.As(err, &pe):
			// The pending API reports no error type; duckdb-go's path
			// classifies the same error from its message.
			return nil, fmt.Errorf("%w: %s", errStreamUnavailable, pe.msg)
		case errors.Is(err, ctx.Err()):
			return nil, err
		}
		return nil, errors.Join(ctx.Err(), err)
	}
	r.opts = arrowmapping.ResultGetArrowOptions(&r.res)
	r.hasOpts = true
	if r.schema, err = resultSchema(&r.res, r.opts); err != nil {
		return nil, err
	}
	r.streaming = bindings.ResultIsStreaming(r.res)
	r.next, err = r.fetch()
	if err != nil {
		return nil, err
	}
	// A streaming result is closed once fetched to its end: it must not
	// be fetched from again.
	r.end = r.next == nil
	return r, nil
}

// resultSchema is the Arrow schema of res, built exactly as duckdb-go's
// Arrow reader builds it.
func resultSchema(res *mapping.Result, opts arrowmapping.ArrowOptions) (*arrow.Schema, error) {
	n := mapping.ColumnCount(res)
	names := make([]string, n)
	types := make([]mapping.LogicalType, n)
	for i := range n {
		names[i] = mapping.ColumnName(res, i)
		types[i] = mapping.ColumnLogicalType(res, i)
	}
	defer func() {
		for i := range n {
			mapping.DestroyLogicalType(&types[i])
		}
	}()
	schema, ed := arrowmapping.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return nil, fmt.Errorf("arrow schema of the result: %w", err)
	}
	return schema, nil
}

// namedArgs numbers args the way duckdb-go's Arrow interface does.
func namedArgs(args []any) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		if na, ok := a.(sql.NamedArg); ok {
			out[i].Name, out[i].Value = na.Name, na.Value
		}
	}
	return out
}

// duckdbError is the driver's error value for a DuckDB error.
func duckdbError(msg string, t mapping.ErrorType) error {
	et := duckdb.ErrorType(t)
	if t == mapping.ErrorTypeDecimal {
		// duckdb-go numbers its decimal error after the decimal type.
		et = duckdb.ErrorTypeDecimal
	}
	return &duckdb.Error{Type: et, Msg: msg}
}

func resultError(res *mapping.Result) error {
	msg := mapping.ResultError(res)
	if msg == "" {
		return nil
	}
	return duckdbError(msg, mapping.ResultErrorType(res))
}

func errorData(ed mapping.ErrorData) error {
	defer mapping.DestroyErrorData(&ed)
	if !mapping.ErrorDataHasError(ed) {
		return nil
	}
	return duckdbError(mapping.ErrorDataMessage(ed), mapping.ErrorDataErrorType(ed))
}

// watchInterrupt interrupts DuckDB on conn once ctx ends, and again every
// interruptEvery, until the returned stop is called; stop waits for the
// watch to end, so no interrupt reaches the connection after it returned.
func watchInterrupt(ctx context.Context, conn mapping.Connection) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-quit:
			return
		case <-ctx.Done():
		}
		tick := time.NewTicker(interruptEvery)
		defer tick.Stop()
		for {
			mapping.Interrupt(conn)
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

// streamReader reads a DuckDB streaming result as Arrow record batches,
// one per DuckDB chunk (2048 rows), converted the way duckdb-go's own Arrow
// reader converts them. Fetching runs the query: a cancel of ctx
// interrupts it (see watchInterrupt) and ends the stream with ctx's error.
type streamReader struct {
	ctx       context.Context
	stopWatch func()
	layout    *driverLayout
	stmt      *duckdb.Stmt
	res       mapping.Result
	hasRes    bool
	opts      arrowmapping.ArrowOptions
	hasOpts   bool
	schema    *arrow.Schema
	streaming bool // DuckDB made a streaming result (pinned by a test)

	mu      sync.Mutex
	refs    int64
	next    arrow.RecordBatch // fetched ahead, not yet returned by Next
	current arrow.RecordBatch
	end     bool
	err     error
}

var _ array.RecordReader = (*streamReader)(nil)

// fetch runs the query until its next chunk and converts it; nil, nil at
// the end of the result.
func (r *streamReader) fetch() (arrow.RecordBatch, error) {
	for {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		chunk := mapping.FetchChunk(r.res)
		if chunk.Ptr == nil {
			// The end, or an error DuckDB kept on the result.
			err := resultError(&r.res)
			if cerr := r.ctx.Err(); cerr != nil {
				return nil, errors.Join(cerr, err)
			}
			if isInterrupt(err) {
				err = r.causeOfInterrupt(err)
			}
			return nil, err
		}
		if mapping.DataChunkGetSize(chunk) == 0 {
			mapping.DestroyDataChunk(&chunk)
			continue
		}
		rec, ed := arrowmapping.DataChunkToArrowArray(r.opts, r.schema, chunk)
		mapping.DestroyDataChunk(&chunk)
		if err := errorData(ed); err != nil {
			return nil, fmt.Errorf("convert a result chunk to arrow: %w", err)
		}
		return rec, nil
	}
}

// recoverAttempts is how many times causeOfInterrupt runs a query again.
const recoverAttempts = 2

// isInterrupt reports whether err is DuckDB's interrupt error.
func isInterrupt(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeInterrupt
}

// causeOfInterrupt finds the error behind an interrupt nobody requested
// (r.ctx has not ended; only the interrupt watch interrupts a query).
//
// When one of DuckDB's threads fails, DuckDB 1.5 interrupts the query's
// other threads, and a streaming result that notices the interrupt before
// the error was recorded ends with "Interrupted!" instead of the error
// (about one mid-stream error in a hundred, on two threads). That error
// would be reported as a cancel and its message lost. The statement is
// run again and read to its first error, discarding the rows: an error of
// the query itself (a value that does not convert, a division by zero)
// comes back the same. The rows already returned stay valid: the stream
// ends with the error either way.
func (r *streamReader) causeOfInterrupt(interrupt error) error {
	for range recoverAttempts {
		err := r.rerunToError()
		if cerr := r.ctx.Err(); cerr != nil {
			return errors.Join(cerr, interrupt)
		}
		switch {
		case err == nil:
			return fmt.Errorf("the query stopped with an interrupt nobody requested, and did not fail when it ran again: %s", interrupt)
		case !isInterrupt(err):
			return err
		}
	}
	return fmt.Errorf("the query stopped with an interrupt nobody requested, %d times: %s", recoverAttempts+1, interrupt)
}

// rerunToError executes r's statement again as a streaming result in
// place of r.res and fetches until its end; its error, nil if it had none.
func (r *streamReader) rerunToError() error {
	if err := r.execute(); err != nil {
		var pe pendingError
		if errors.As(err, &pe) {
			return fmt.Errorf("run the query again: %s", pe.msg)
		}
		return err
	}
	for r.ctx.Err() == nil {
		chunk := mapping.FetchChunk(r.res)
		if chunk.Ptr == nil {
			return resultError(&r.res)
		}
		mapping.DestroyDataChunk(&chunk)
	}
	return r.ctx.Err()
}

// pendingError is DuckDB refusing to create a streaming result.
type pendingError struct{ msg string }

func (e pendingError) Error() string { return e.msg }

// execute runs r's bound statement as a new streaming result in r.res,
// destroying the previous one: a pendingError when DuckDB refused to
// create it, r.ctx's error when that ended first, the result's error when
// the blocking phases failed.
func (r *streamReader) execute() error {
	if r.hasRes {
		mapping.DestroyResult(&r.res)
		r.hasRes = false
	}
	var pending mapping.PendingResult
	if bindings.PendingPreparedStreaming(*r.layout.prepared(r.stmt), &pending) == mapping.StateError {
		msg := mapping.PendingError(pending)
		mapping.DestroyPending(&pending)
		return pendingError{msg}
	}
	if err := r.ctx.Err(); err != nil {
		mapping.DestroyPending(&pending)
		return err
	}
	state := mapping.ExecutePending(pending, &r.res)
	mapping.DestroyPending(&pending)
	r.hasRes = true
	if state == mapping.StateError {
		if err := resultError(&r.res); err != nil {
			return err
		}
		return errors.New("execute query: duckdb reported an error without a message")
	}
	return nil
}

// Schema is the result's Arrow schema.
func (r *streamReader) Schema() *arrow.Schema { return r.schema }

// Next fetches the next batch; false at the end or on an error (see Err).
func (r *streamReader) Next() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil {
		r.current.Release()
		r.current = nil
	}
	if r.refs <= 0 {
		r.err = errors.New("arrow reader has been released")
		return false
	}
	if r.err != nil || r.end {
		return false
	}
	if r.next != nil {
		r.current, r.next = r.next, nil
		return true
	}
	rec, err := r.fetch()
	r.end = rec == nil
	switch {
	case err != nil:
		r.err = err
		return false
	case rec == nil:
		return false
	}
	r.current = rec
	return true
}

// RecordBatch is the batch Next made current; the reader owns it.
func (r *streamReader) RecordBatch() arrow.RecordBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (r *streamReader) Record() arrow.RecordBatch { return r.RecordBatch() }

// Err is the error that ended the stream, nil at its regular end.
func (r *streamReader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Retain adds a reference.
func (r *streamReader) Retain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs > 0 {
		r.refs++
	}
}

// Release drops a reference; the last one destroys the DuckDB result,
// which stops the query if it was not read to the end.
func (r *streamReader) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs <= 0 {
		return
	}
	r.refs--
	if r.refs == 0 {
		r.destroy()
	}
}

// destroy frees the batches and the DuckDB handles, then ends the
// interrupt watch (DuckDB may still be tearing the query down until the
// result is destroyed).
func (r *streamReader) destroy() {
	for _, rec := range []*arrow.RecordBatch{&r.current, &r.next} {
		if *rec != nil {
			(*rec).Release()
			*rec = nil
		}
	}
	if r.hasRes {
		mapping.DestroyResult(&r.res)
		r.hasRes = false
	}
	if r.hasOpts {
		arrowmapping.DestroyArrowOptions(&r.opts)
		r.hasOpts = false
	}
	if r.stmt != nil {
		_ = r.stmt.Close()
		r.stmt = nil
	}
	r.stopWatch()
}
