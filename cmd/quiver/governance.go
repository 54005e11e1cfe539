package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
	"github.com/quiver-data/quiver/violations"
)

// ActionDetectAccept accepts a detection (admins only): its column is
// tagged pii:<kind>, which tag policies mask from the next query on.
const ActionDetectAccept = "quiver.detect.accept"

var errAcceptRequest = errkind.New(errkind.Invalid, "bad detection acceptance")

// metaCatalog is what is said about tables: the catalog file, with the
// tags accepted detections add.
func (a *serveApp) metaCatalog() *catalogmeta.Catalog {
	c := a.meta.Catalog()
	if a.detect == nil {
		return c
	}
	return c.WithColumnTags(a.detect.Tags())
}

// metaVersion changes whenever metaCatalog may have.
func (a *serveApp) metaVersion() int64 {
	v := a.meta.Version()
	if a.detect != nil {
		v += a.detect.Version()
	}
	return v
}

// policyResources describes tables for decisions: columns with their
// DuckDB types and tags. A table known by name alone is looked up; one
// that cannot be is described by name (tag rules then see no column).
func (a *serveApp) policyResources(ctx context.Context, name storage.TableName, columns []storage.Column) policy.Resource {
	res := policy.NameOnly(name)
	t := &storage.Table{Name: name, Columns: columns}
	if columns == nil {
		var err error
		if t, err = a.catalog.Table(ctx, name); err != nil {
			return res
		}
	}
	entry := systables.TableEntry(a.metaCatalog(), res.Catalog, res.Schema, t)
	for _, c := range t.Columns {
		typ, _ := engine.DuckDBType(c.Type)
		res.Columns = append(res.Columns, policy.Column{Name: c.Name, Type: typ, Tags: entry.Columns[strings.ToLower(c.Name)].Tags})
	}
	return res
}

// violationsTable is system.violations over the catalog, the detection
// job, the policy and the reports' lineage.
func (a *serveApp) violationsTable() *violations.Table {
	return violations.New(violations.Options{
		Tables: a.catalog, Meta: a.metaCatalog, Findings: a.detect.Results, Policy: a.policy,
		Reports: a.queryLog.LatestRuns, Registerer: a.reg,
	})
}

// checkViolations refreshes quiver_pii_violations after what may change
// it (a detection run or acceptance, a reload).
func (a *serveApp) checkViolations(ctx context.Context) {
	if a.violations == nil {
		return
	}
	if _, err := a.violations.Check(ctx); err != nil {
		a.logger.Warn("checking PII violations", "err", err)
	}
}

// acceptRequest is ActionDetectAccept's body.
type acceptRequest struct {
	// Table is schema.table (the Parquet warehouse) or
	// catalog.namespace.table.
	Table  string `json:"table"`
	Column string `json:"column"`
	// Kind defaults to the finding's.
	Kind string `json:"kind"`
}

// acceptAction is ActionDetectAccept for flightserver.Options.Actions.
func (a *serveApp) acceptAction() flightserver.Action {
	return flightserver.Action{
		Description: `Accept a PII detection (admins): {"table": "demo.profiles", "column": "email"[, "kind": "email"]} tags the column pii:<kind>; answers the acceptance.`,
		Handler: func(ctx context.Context, body []byte) ([]byte, error) {
			if !a.cfg.ops.isAdmin(ctx) {
				return nil, fmt.Errorf("%w: the caller is not in --admin-role", errAcceptNotAdmin)
			}
			var req acceptRequest
			if err := json.Unmarshal(body, &req); err != nil {
				return nil, fmt.Errorf("%w: want JSON {\"table\", \"column\", \"kind\"}: %v", errAcceptRequest, err)
			}
			parts := strings.Split(req.Table, ".")
			if len(parts) == 2 {
				parts = append([]string{systables.CatalogName}, parts...)
			}
			if len(parts) != 3 || req.Column == "" || parts[0] == "" || parts[1] == "" || parts[2] == "" {
				return nil, fmt.Errorf("%w: table %q column %q: want a table as schema.table or catalog.namespace.table, and a column",
					errAcceptRequest, req.Table, req.Column)
			}
			by := "anonymous"
			if pr, ok := auth.FromContext(ctx); ok {
				by = pr.Subject
			}
			acc, err := a.detect.Accept(ctx, parts[0], parts[1], parts[2], req.Column, req.Kind, by)
			if err != nil {
				return nil, err
			}
			a.logger.Info("detection accepted", "table", req.Table, "column", acc.Column, "kind", acc.Kind, "by", by)
			a.checkViolations(context.WithoutCancel(ctx))
			return json.Marshal(acc)
		},
	}
}
