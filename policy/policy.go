package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// ErrInvalid is a policy file that cannot be used.
var ErrInvalid = errors.New("invalid policy")

// Policy maps principals to table grants, column denials and masks, and row
// filters. Once a policy is loaded everything not granted is denied.
//
//	rules:
//	  - match: {roles: [analyst]}          # sub, roles (any of), claims (all of)
//	    tables: ["demo.*"]                 # globs over schema.table
//	    deny_columns: {demo.profiles: [name]}
//	    masks: {demo.profiles: {country: "'**'"}}
//	    row_filters: {demo.plays: "device = $claims.device"}
//
// When several rules grant a table, their restrictions add up (every
// denied column, every mask, every row filter): the conservative reading,
// so adding a rule can never widen what another rule restricts.
type Policy struct {
	Rules []Rule `yaml:"rules"`
}

// Rule is one entry of a policy file.
type Rule struct {
	Match       Match                        `yaml:"match"`
	Tables      []string                     `yaml:"tables"`
	DenyColumns map[string][]string          `yaml:"deny_columns"`
	Masks       map[string]map[string]string `yaml:"masks"`
	RowFilters  map[string]string            `yaml:"row_filters"`
}

// Match selects principals; every field given must match.
type Match struct {
	Sub    string         `yaml:"sub"`
	Roles  []string       `yaml:"roles"`
	Claims map[string]any `yaml:"claims"`
}

// Load reads and checks a policy file.
func Load(file string) (*Policy, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	var p Policy
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	for i, r := range p.Rules {
		if len(r.Tables) == 0 {
			return nil, fmt.Errorf("%w: %s: rule %d grants no tables", ErrInvalid, file, i+1)
		}
		for _, g := range r.Tables {
			if _, err := path.Match(g, "x.y"); err != nil {
				return nil, fmt.Errorf("%w: %s: rule %d: table pattern %q: %v", ErrInvalid, file, i+1, g, err)
			}
		}
	}
	return &p, nil
}

func (m Match) matches(p auth.Principal) bool {
	if m.Sub != "" && m.Sub != p.Subject {
		return false
	}
	if len(m.Roles) > 0 && !slices.ContainsFunc(m.Roles, func(r string) bool { return slices.Contains(p.Roles, r) }) {
		return false
	}
	for k, v := range m.Claims {
		if fmt.Sprint(p.Claims[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// Restrict is planner.Policy for the context's principal, with the
// table described by name alone.
func (p *Policy) Restrict(ctx context.Context, name storage.TableName) (*planner.Restriction, error) {
	return p.Decide(ctx, principal(ctx), NameOnly(name))
}

// Decide is Decider: the rules that match the principal and grant the
// table, their restrictions added up.
func (p *Policy) Decide(_ context.Context, pr auth.Principal, res Resource) (*planner.Restriction, error) {
	table := res.Name.String()
	var out *planner.Restriction
	for _, r := range p.Rules {
		if !r.Match.matches(pr) || !slices.ContainsFunc(r.Tables, func(g string) bool {
			ok, _ := path.Match(g, table)
			return ok
		}) {
			continue
		}
		if out == nil {
			out = &planner.Restriction{Masks: map[string]string{}, Claims: map[string]any{}}
		}
		out.Deny = append(out.Deny, r.DenyColumns[table]...)
		for col, expr := range r.Masks[table] {
			out.Masks[col] = expr
		}
		if f := r.RowFilters[table]; f != "" {
			bound, err := BindClaims(f, pr, table, out.Claims)
			if err != nil {
				return nil, err
			}
			out.Filters = append(out.Filters, bound)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%w: table %s is not granted to %q", planner.ErrNotGranted, table, pr.Subject)
	}
	return out, nil
}
