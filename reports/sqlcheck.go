package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Parser parses SQL the way the server will: *engine.DB (DuckDB's
// json_serialize_sql) is one.
type Parser interface {
	Serialize(ctx context.Context, sql string) ([]byte, error)
}

// ParserCheck is a SQLChecker over DuckDB's parser: the SQL must be one
// SELECT-like statement whose ? parameters are exactly the template
// variables. A variable written inside quotes or a comment, or a ? or $1
// of the report's own, makes the counts differ and is rejected: values
// are only ever bound, never spliced into text.
func ParserCheck(p Parser) SQLChecker {
	return func(sql string, params int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		raw, err := p.Serialize(ctx, sql)
		if err != nil {
			return err
		}
		var env struct {
			Error      bool              `json:"error"`
			Message    string            `json:"error_message"`
			Statements []json.RawMessage `json:"statements"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&env); err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		if env.Error {
			return errors.New(env.Message)
		}
		switch len(env.Statements) {
		case 0:
			return errors.New("no statement")
		case 1:
		default:
			return fmt.Errorf("%d statements; a report runs one query", len(env.Statements))
		}
		var tree any
		dec = json.NewDecoder(bytes.NewReader(env.Statements[0]))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		if n := countParams(tree); n != params {
			if n < params {
				return fmt.Errorf("%d of %d template variables are inside quotes or a comment; write {{ run_date }} bare, it is bound as a parameter", params-n, params)
			}
			return fmt.Errorf("has %d parameter placeholders of its own (? or $n); use template variables", n-params)
		}
		return nil
	}
}

// countParams counts PARAMETER expressions in a json_serialize_sql tree.
func countParams(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 0
		if v["class"] == "PARAMETER" {
			n++
		}
		for _, c := range v {
			n += countParams(c)
		}
		return n
	case []any:
		n := 0
		for _, c := range v {
			n += countParams(c)
		}
		return n
	}
	return 0
}
