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
//	  - match: {except_roles: [privacy]}   # everyone but the privacy role
//	    mask_tags: {"pii:*": "NULL"}       # globs over column tags
//	    deny_tags: ["secret"]
//
// When several rules grant a table, their restrictions add up (every
// denied column, every mask, every row filter): the conservative reading,
// so adding a rule can never widen what another rule restricts. A rule
// without tables grants nothing: its restrictions apply to every table
// other rules grant the principal. Tag masks keep the column's type
// (TRY_CAST: a mask that cannot be of that type is NULL); a column mask
// of masks wins over a tag mask.
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
	// DenyTags and MaskTags restrict columns by tag (globs: "pii:*").
	DenyTags []string          `yaml:"deny_tags"`
	MaskTags map[string]string `yaml:"mask_tags"`
}

// Match selects principals; every field given must match.
type Match struct {
	Sub    string         `yaml:"sub"`
	Roles  []string       `yaml:"roles"`
	Claims map[string]any `yaml:"claims"`
	// ExceptRoles excludes principals holding any of these roles.
	ExceptRoles []string `yaml:"except_roles"`
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
		if len(r.Tables) == 0 && !r.restricts() {
			return nil, fmt.Errorf("%w: %s: rule %d grants no tables and restricts nothing", ErrInvalid, file, i+1)
		}
		for _, g := range r.Tables {
			if _, err := path.Match(g, "x.y"); err != nil {
				return nil, fmt.Errorf("%w: %s: rule %d: table pattern %q: %v", ErrInvalid, file, i+1, g, err)
			}
		}
		for _, g := range r.tagGlobs() {
			if _, err := path.Match(g, "pii:email"); err != nil {
				return nil, fmt.Errorf("%w: %s: rule %d: tag pattern %q: %v", ErrInvalid, file, i+1, g, err)
			}
		}
		for g, m := range r.MaskTags {
			if strings.TrimSpace(m) == "" {
				return nil, fmt.Errorf("%w: %s: rule %d: tag %q has an empty mask", ErrInvalid, file, i+1, g)
			}
		}
	}
	return &p, nil
}

// restricts reports whether a rule restricts anything (a rule without
// tables must).
func (r Rule) restricts() bool {
	return len(r.DenyColumns) > 0 || len(r.Masks) > 0 || len(r.RowFilters) > 0 || len(r.DenyTags) > 0 || len(r.MaskTags) > 0
}

// tagGlobs are the tag patterns a rule restricts, sorted (so that of two
// mask patterns matching one tag the first in order wins, every time).
func (r Rule) tagGlobs() []string {
	out := slices.Clone(r.DenyTags)
	for g := range r.MaskTags {
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// grants reports whether a rule grants table (schema.table).
func (r Rule) grants(table string) bool {
	return slices.ContainsFunc(r.Tables, func(g string) bool {
		ok, _ := path.Match(g, table)
		return ok
	})
}

// tagged reports whether any of tags matches glob.
func tagged(glob string, tags []string) bool {
	return slices.ContainsFunc(tags, func(t string) bool {
		ok, _ := path.Match(glob, t)
		return ok
	})
}

func (m Match) matches(p auth.Principal) bool {
	if m.Sub != "" && m.Sub != p.Subject {
		return false
	}
	holds := func(r string) bool { return slices.Contains(p.Roles, r) }
	if len(m.Roles) > 0 && !slices.ContainsFunc(m.Roles, holds) {
		return false
	}
	if slices.ContainsFunc(m.ExceptRoles, holds) {
		return false
	}
	for k, v := range m.Claims {
		if fmt.Sprint(p.Claims[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// Restrict is planner.Policy for the context's principal. Tag rules see
// no tags here (the Store describes tables with their tags).
func (p *Policy) Restrict(ctx context.Context, name storage.TableName, columns []storage.Column) (*planner.Restriction, error) {
	return p.Decide(ctx, principal(ctx), Untagged(name, columns))
}

// Decide is Decider: the rules that match the principal and grant the
// table, their restrictions added up, with those of the matching rules
// that grant nothing.
func (p *Policy) Decide(_ context.Context, pr auth.Principal, res Resource) (*planner.Restriction, error) {
	table := res.Name.String()
	granted := slices.ContainsFunc(p.Rules, func(r Rule) bool { return r.Match.matches(pr) && r.grants(table) })
	if !granted {
		return nil, fmt.Errorf("%w: table %s is not granted to %q", planner.ErrNotGranted, table, pr.Subject)
	}
	out := &planner.Restriction{Masks: map[string]string{}, TypedMasks: map[string]string{}, Claims: map[string]any{}}
	for _, r := range p.Rules {
		if !r.Match.matches(pr) || (len(r.Tables) > 0 && !r.grants(table)) {
			continue
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
		r.restrictTags(res.Columns, out)
	}
	return out, nil
}

// restrictTags denies and masks the columns whose tags the rule names.
// Of several rules masking one column the first wins.
func (r Rule) restrictTags(columns []Column, out *planner.Restriction) {
	for _, c := range columns {
		if len(c.Tags) == 0 {
			continue
		}
		if slices.ContainsFunc(r.DenyTags, func(g string) bool { return tagged(g, c.Tags) }) {
			out.Deny = append(out.Deny, c.Name)
			continue
		}
		if _, done := out.TypedMasks[c.Name]; done {
			continue
		}
		for _, g := range r.tagGlobs() {
			if m, ok := r.MaskTags[g]; ok && tagged(g, c.Tags) {
				out.TypedMasks[c.Name] = m
				break
			}
		}
	}
}

// Principals are the principals the policy names: one per role (holding
// that role alone) and one per subject, in order, then "anyone" (no role,
// an unknown subject). system.violations asks what each may read.
func (p *Policy) Principals() []auth.Principal {
	var roles, subs []string
	for _, r := range p.Rules {
		roles = append(roles, r.Match.Roles...)
		roles = append(roles, r.Match.ExceptRoles...)
		if r.Match.Sub != "" {
			subs = append(subs, r.Match.Sub)
		}
	}
	slices.Sort(roles)
	slices.Sort(subs)
	var out []auth.Principal
	for _, r := range slices.Compact(roles) {
		out = append(out, auth.Principal{Subject: "role:" + r, Roles: []string{r}})
	}
	for _, s := range slices.Compact(subs) {
		out = append(out, auth.Principal{Subject: s})
	}
	return append(out, auth.Principal{Subject: Anyone})
}

// Anyone is the subject of a principal no rule names.
const Anyone = "anyone"

// Exempt reports whether the policy deliberately lets p read columns
// tagged tag: a rule restricting that tag excludes one of p's roles
// (except_roles). Reading such a column unmasked is then no violation.
func (p *Policy) Exempt(pr auth.Principal, tag string) bool {
	for _, r := range p.Rules {
		if len(r.Match.ExceptRoles) == 0 || !slices.ContainsFunc(r.tagGlobs(), func(g string) bool { return tagged(g, []string{tag}) }) {
			continue
		}
		if slices.ContainsFunc(r.Match.ExceptRoles, func(x string) bool { return slices.Contains(pr.Roles, x) }) {
			return true
		}
	}
	return false
}
