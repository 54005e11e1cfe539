package ast

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Node is one object of the serialized tree. Children are Node, []any (of
// Node or values) or JSON values (string, bool, json.Number, nil).
type Node map[string]any

// Decode decodes a serialized tree, keeping numbers exact (query
// locations are uint64 and must survive the round trip) and making every
// object a Node.
func Decode(b []byte) (Node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode statement tree: %w", err)
	}
	return typed(raw).(Node), nil
}

// typed converts decoded JSON objects into Nodes, in place for arrays.
func typed(v any) any {
	switch v := v.(type) {
	case map[string]any:
		n := Node(v)
		for k, c := range n {
			n[k] = typed(c)
		}
		return n
	case []any:
		for i, c := range v {
			v[i] = typed(c)
		}
		return v
	}
	return v
}

// Walk calls visit for every object under v, parents before children.
func Walk(v any, visit func(Node)) {
	switch v := v.(type) {
	case Node:
		visit(v)
		for _, child := range v {
			Walk(child, visit)
		}
	case []any:
		for _, child := range v {
			Walk(child, visit)
		}
	}
}

// Contains reports whether any object under v satisfies pred; with
// stopAtSubquery it does not look inside subquery expressions.
func Contains(v any, stopAtSubquery bool, pred func(Node) bool) bool {
	switch v := v.(type) {
	case Node:
		if pred(v) {
			return true
		}
		if stopAtSubquery && v.Class() == ClassSubquery {
			return false
		}
		for _, c := range v {
			if Contains(c, stopAtSubquery, pred) {
				return true
			}
		}
	case []any:
		for _, c := range v {
			if Contains(c, stopAtSubquery, pred) {
				return true
			}
		}
	}
	return false
}

// Clone deep-copies a tree.
func Clone(v any) any {
	switch v := v.(type) {
	case Node:
		if v == nil {
			// A typed nil is JSON null; an empty map would be "{}".
			return nil
		}
		out := make(Node, len(v))
		for k, c := range v {
			out[k] = Clone(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = Clone(c)
		}
		return out
	}
	return v
}

// Copy deep-copies n.
func (n Node) Copy() Node {
	c, _ := Clone(n).(Node)
	return c
}

// Replace makes n hold exactly src's fields: every reference to n in the
// tree sees the new node.
func (n Node) Replace(src Node) {
	for k := range n {
		delete(n, k)
	}
	for k, v := range src {
		n[k] = v
	}
}

// Canonical renders a tree without aliases and query locations, so two
// spellings of the same expression compare equal.
func Canonical(v any) string {
	var strip func(any) any
	strip = func(v any) any {
		switch v := v.(type) {
		case Node:
			out := make(map[string]any, len(v))
			for k, c := range v {
				if k == FieldQueryLocation || k == FieldAlias {
					continue
				}
				out[k] = strip(c)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, c := range v {
				out[i] = strip(c)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(strip(v))
	return string(b)
}

// AsNode returns v as a Node, nil when it is not one.
func AsNode(v any) Node {
	n, _ := v.(Node)
	return n
}

// Nodes returns the Nodes of a list (other elements are skipped).
func Nodes(v any) []Node {
	list, _ := v.([]any)
	out := make([]Node, 0, len(list))
	for _, x := range list {
		if n, ok := x.(Node); ok {
			out = append(out, n)
		}
	}
	return out
}

// List makes a JSON list of nodes.
func List(ns []Node) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// Str reads a string field, "" when absent.
func (n Node) Str(field string) string {
	s, _ := n[field].(string)
	return s
}

// Child reads an object field, nil when absent or null.
func (n Node) Child(field string) Node { return AsNode(n[field]) }

// Children reads a list field's objects.
func (n Node) Children(field string) []Node { return Nodes(n[field]) }

// Type is the node's kind: a query node, table reference, modifier or
// expression type (kinds.go).
func (n Node) Type() string { return n.Str(FieldType) }

// Class is an expression's class ("" for other nodes).
func (n Node) Class() string { return n.Str(FieldClass) }

// Alias is a node's alias.
func (n Node) Alias() string { return n.Str(FieldAlias) }

// ColumnNames are a COLUMN_REF's qualified name parts.
func (n Node) ColumnNames() []string {
	raw, _ := n[FieldColumnNames].([]any)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, _ := r.(string)
		out = append(out, s)
	}
	return out
}

// FunctionName is a FUNCTION's name.
func (n Node) FunctionName() string { return n.Str(FieldFunctionName) }

// MapChildren returns a copy of n whose every child object (a field, or
// an element of a list field) is f of it; other values are copied. The
// first error stops it.
func MapChildren(n Node, f func(Node) (Node, error)) (Node, error) {
	out := make(Node, len(n))
	for k, v := range n {
		switch v := v.(type) {
		case Node:
			c, err := f(v)
			if err != nil {
				return nil, err
			}
			out[k] = c
		case []any:
			list := make([]any, len(v))
			for i, x := range v {
				xn, ok := x.(Node)
				if !ok {
					list[i] = Clone(x)
					continue
				}
				c, err := f(xn)
				if err != nil {
					return nil, err
				}
				list[i] = c
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	return out, nil
}
