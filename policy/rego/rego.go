package rego

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/policy"
)

// ErrDecision is a policy that could not decide: a runtime error in the
// Rego (a builtin's error, conflicting outputs) or a result of the wrong
// shape. The query is refused.
var ErrDecision = errkind.New(errkind.Internal, "rego policy decision failed")

// Options configures an Engine.
type Options struct {
	// Package is the Rego package queried, "trino" by default (Trino's
	// opa.policy.uri .../v1/data/trino/allow).
	Package string
}

// The rules an Engine queries, under its package.
const (
	ruleAllow      = "allow"
	ruleRowFilters = "rowFilters"
	ruleColumnMask = "columnMask"
	ruleBatchMasks = "batchColumnMasks"
	ruleBatch      = "batch"
	defaultPackage = "trino"
)

// Engine is a policy.Decider evaluating a compiled Rego bundle. Its
// queries are prepared once, at Load; it is safe for concurrent use.
type Engine struct {
	allow oparego.PreparedEvalQuery
	// rowFilters and columnMask are nil when the bundle defines no such
	// rule (no filters, no masks); batchMasks, when defined, is used
	// instead of columnMask, and batch (Trino's opa.policy.batched-uri)
	// instead of allow per column.
	batch      *oparego.PreparedEvalQuery
	rowFilters *oparego.PreparedEvalQuery
	columnMask *oparego.PreparedEvalQuery
	batchMasks *oparego.PreparedEvalQuery
}

var _ policy.Decider = (*Engine)(nil)

// Load compiles a bundle: path is a directory of .rego (and data.json,
// data.yaml) files, a bundle .tar.gz, or one .rego file. A bundle that
// does not parse or compile, or that has no allow rule, is an error
// wrapping policy.ErrInvalid that names the file and line; a path that
// cannot be read is an error wrapping the file system's.
func Load(ctx context.Context, path string, o Options) (*Engine, error) {
	pkg := o.Package
	if pkg == "" {
		pkg = defaultPackage
	}
	base, err := ast.ParseRef("data." + pkg)
	if err != nil {
		return nil, fmt.Errorf("rego policy: package %q: %w", pkg, err)
	}
	modules, data, err := read(path)
	if err != nil {
		return nil, err
	}
	c := ast.NewCompiler()
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("%w: %s: %v", policy.ErrInvalid, path, c.Errors)
	}
	store := inmem.NewFromObject(data)
	ref := func(rule string) ast.Ref { return base.Append(ast.StringTerm(rule)) }
	if !defined(ctx, c, store, ref(ruleAllow)) {
		return nil, fmt.Errorf("%w: %s: no rule %s", policy.ErrInvalid, path, ref(ruleAllow))
	}
	e := &Engine{}
	prepare := func(rule string) (*oparego.PreparedEvalQuery, error) {
		r := ref(rule)
		if rule != ruleAllow && !defined(ctx, c, store, r) {
			return nil, nil
		}
		q, err := oparego.New(
			oparego.Query(r.String()),
			oparego.Compiler(c),
			oparego.Store(store),
			// A builtin's error refuses rather than making its
			// expression undefined: a failing mask must not unmask.
			oparego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: prepare %s: %v", policy.ErrInvalid, path, r, err)
		}
		return &q, nil
	}
	allow, err := prepare(ruleAllow)
	if err != nil {
		return nil, err
	}
	e.allow = *allow
	if e.batch, err = prepare(ruleBatch); err != nil {
		return nil, err
	}
	if e.rowFilters, err = prepare(ruleRowFilters); err != nil {
		return nil, err
	}
	if e.batchMasks, err = prepare(ruleBatchMasks); err != nil {
		return nil, err
	}
	if e.batchMasks == nil {
		if e.columnMask, err = prepare(ruleColumnMask); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Loader is a policy.Loader reading path again on every call (the
// server's reload on SIGHUP).
func Loader(path string, o Options) policy.Loader {
	return func(ctx context.Context) (policy.Decider, error) {
		e, err := Load(ctx, path, o)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

// read parses the modules and data at path.
func read(path string) (map[string]*ast.Module, map[string]any, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read rego policy: %w", err)
	}
	fl := loader.NewFileLoader().WithRegoVersion(ast.RegoV1)
	modules := map[string]*ast.Module{}
	if !fi.IsDir() && strings.HasSuffix(path, ".rego") {
		res, err := fl.All([]string{path})
		if err != nil {
			return nil, nil, loadError(path, err)
		}
		for name, m := range res.Modules {
			modules[name] = m.Parsed
		}
		return modules, map[string]any{}, nil
	}
	b, err := fl.AsBundle(path)
	if err != nil {
		return nil, nil, loadError(path, err)
	}
	for _, m := range b.Modules {
		modules[m.Path] = m.Parsed
	}
	data := b.Data
	if data == nil {
		data = map[string]any{}
	}
	return modules, data, nil
}

// loadError is a bundle that does not load: invalid unless the file
// system failed.
func loadError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("read rego policy %s: %w", path, err)
	}
	if strings.Contains(err.Error(), path) {
		return fmt.Errorf("%w: %v", policy.ErrInvalid, err)
	}
	return fmt.Errorf("%w: %s: %v", policy.ErrInvalid, path, err)
}

// defined reports whether a rule or a data document exists at ref.
func defined(ctx context.Context, c *ast.Compiler, store storage.Store, ref ast.Ref) bool {
	if len(c.GetRules(ref)) > 0 {
		return true
	}
	p, err := storage.NewPathForRef(ref)
	if err != nil {
		return false
	}
	_, err = storage.ReadOne(ctx, store, p)
	return err == nil
}
