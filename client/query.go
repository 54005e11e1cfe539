package client

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Param is a value bound to a statement's parameter: Name is "1" or "$1"
// for the first positional one, or the name of a named one ("$day" or
// "day"). Value is text; the server casts it to the parameter's type.
type Param struct {
	Name, Value string
}

// ParseParam parses NAME=VALUE.
func ParseParam(s string) (Param, error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || strings.TrimPrefix(name, "$") == "" {
		return Param{}, fmt.Errorf("%w: %q: want NAME=VALUE (NAME is 1, 2, … or a $name of the statement)", ErrBadParameter, s)
	}
	return Param{Name: name, Value: value}, nil
}

// key is the placeholder a param binds: "$1", "$day".
func (p Param) key() string { return "$" + strings.TrimPrefix(p.Name, "$") }

// Query plans sql on the server and returns a reader over every endpoint
// of its result, in order. With params the statement is prepared and the
// values bound to its placeholders by name or position.
func (c *Conn) Query(ctx context.Context, sql string, params ...Param) (*Result, error) {
	fc, err := c.client(c.home)
	if err != nil {
		return nil, err
	}
	octx := c.outgoing(ctx)
	var info *flight.FlightInfo
	if len(params) == 0 {
		info, err = fc.Execute(octx, sql)
		if err != nil {
			return nil, c.explain(fmt.Errorf("execute query on %s: %w", c.opts.Server, err), c.home)
		}
		return newResult(ctx, c, info)
	}
	stmt, err := fc.Prepare(octx, sql)
	if err != nil {
		return nil, c.explain(fmt.Errorf("prepare query on %s: %w", c.opts.Server, err), c.home)
	}
	defer func() { _ = stmt.Close(octx) }() // the result no longer needs the handle
	rec, err := bindParams(c.opts.Allocator, stmt.ParameterSchema(), params)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	stmt.SetParameters(rec)
	info, err = stmt.Execute(octx)
	if err != nil {
		return nil, c.explain(fmt.Errorf("execute query on %s: %w", c.opts.Server, err), c.home)
	}
	return newResult(ctx, c, info)
}

// bindParams builds the one-row batch of params in the order of the
// statement's placeholders (schema, when the server declared them), or in
// positional order. Every value is sent as text.
func bindParams(mem memory.Allocator, schema *arrow.Schema, params []Param) (arrow.RecordBatch, error) {
	byKey := map[string]string{}
	for _, p := range params {
		k := p.key()
		if _, dup := byKey[k]; dup {
			return nil, fmt.Errorf("%w: %s given twice", ErrBadParameter, k)
		}
		byKey[k] = p.Value
	}
	var names []string
	if schema != nil && schema.NumFields() > 0 {
		for _, f := range schema.Fields() {
			names = append(names, "$"+strings.TrimPrefix(f.Name, "$"))
		}
	} else {
		// No declared placeholders: positional only, $1…$n.
		for k := range byKey {
			n, err := strconv.Atoi(strings.TrimPrefix(k, "$"))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%w: %s: the server declared no parameter names; bind by position (1=VALUE)", ErrBadParameter, k)
			}
		}
		for i := 1; i <= len(byKey); i++ {
			names = append(names, "$"+strconv.Itoa(i))
		}
	}
	var missing, unknown []string
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, name := range names {
		v, ok := byKey[name]
		if !ok {
			// $1 may also be given as the i-th positional for a named one.
			v, ok = byKey["$"+strconv.Itoa(i+1)]
		}
		if !ok {
			missing = append(missing, name)
			continue
		}
		b := array.NewStringBuilder(mem)
		b.Append(v)
		cols[i] = b.NewArray()
		b.Release()
		fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	known := map[string]bool{}
	for i, n := range names {
		known[n], known["$"+strconv.Itoa(i+1)] = true, true
	}
	for k := range byKey {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("%w: no value for %s (the statement has %s)", ErrBadParameter, strings.Join(missing, ", "), strings.Join(names, ", "))
	case len(unknown) > 0:
		return nil, fmt.Errorf("%w: the statement has no %s (it has %s)", ErrBadParameter, strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1), nil
}
