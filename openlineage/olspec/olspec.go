// Package olspec validates events against OpenLineage's JSON schemas:
// spec/ holds the spec (2-0-2) and the facets Quiver posts, copied
// unchanged from github.com/OpenLineage/OpenLineage at commit
// 8f02abfb7a252783b95df79f443edb13959bf52c (Apache License 2.0). Tests
// use it; the server does not.
package olspec

import (
	"bytes"
	"embed"
	"fmt"
	"path"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed spec/*.json
var specFiles embed.FS

// Validator checks run events and their facets.
type Validator struct {
	event  *jsonschema.Schema
	facets map[string]*jsonschema.Schema // by facet key: "schema", "columnLineage", …
}

// facetKeys are the facets' keys in an event, by spec file.
var facetKeys = map[string]string{
	"SchemaDatasetFacet.json": "schema", "ColumnLineageDatasetFacet.json": "columnLineage",
	"SQLJobFacet.json": "sql", "JobTypeJobFacet.json": "jobType", "ErrorMessageRunFacet.json": "errorMessage",
}

// New compiles the schemas.
func New() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := specFiles.ReadDir("spec")
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, e := range entries {
		raw, err := specFiles.ReadFile(path.Join("spec", e.Name()))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		ids[e.Name()] = id
	}
	v := &Validator{facets: map[string]*jsonschema.Schema{}}
	if v.event, err = c.Compile(ids["OpenLineage.json"]); err != nil {
		return nil, err
	}
	for file, key := range facetKeys {
		if v.facets[key], err = c.Compile(ids[file]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Validate checks one event: the event against the spec, then every
// facet Quiver posts against its own schema (the spec alone checks only
// a facet's base fields).
func (v *Validator) Validate(event []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return err
	}
	if err := v.event.Validate(doc); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	ev := doc.(map[string]any)
	var holders []map[string]any
	for _, k := range []string{"run", "job"} {
		if m, ok := ev[k].(map[string]any); ok {
			holders = append(holders, m)
		}
	}
	for _, k := range []string{"inputs", "outputs"} {
		list, _ := ev[k].([]any)
		for _, d := range list {
			if m, ok := d.(map[string]any); ok {
				holders = append(holders, m)
			}
		}
	}
	for _, h := range holders {
		facets, _ := h["facets"].(map[string]any)
		for key, f := range facets {
			s, ok := v.facets[key]
			if !ok {
				return fmt.Errorf("facet %q has no schema here", key)
			}
			if err := s.Validate(map[string]any{key: f}); err != nil {
				return fmt.Errorf("facet %s: %w", key, err)
			}
		}
	}
	return nil
}
