package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even on hosts without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/errkind"
)

// Output formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
	FormatJSONL   = "jsonl"
)

// Overlap policies: what happens when a run is due while the previous run
// of the same report is still going.
const (
	// OverlapSkip records the due run as skipped.
	OverlapSkip = "skip"
	// OverlapQueue runs it when the current run ends.
	OverlapQueue = "queue"
)

// Defaults of optional fields.
const (
	DefaultTimeout    = 30 * time.Minute
	DefaultBackoff    = 30 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
	// WarehouseScheme prefixes outputs written into the warehouse itself:
	// "warehouse://schema/table/…/x.parquet" is a file of table
	// schema.table, queryable as soon as it is published.
	WarehouseScheme = "warehouse://"
)

// Definition is one report as written in reports.yaml.
//
//	reports:
//	  - name: daily_top_titles
//	    schedule: "0 6 * * *"            # 5 cron fields
//	    timezone: Europe/Paris            # IANA; default UTC
//	    sql: |
//	      SELECT title_id, count(*) AS plays FROM demo.plays
//	      WHERE day = {{ run_date }} GROUP BY 1 ORDER BY 2 DESC LIMIT 10
//	    output: s3://lake/reports/daily_top_titles/date={{ run_date }}/result.parquet
//	    format: parquet                   # parquet, csv, jsonl; default from the extension
//	    run_as: reporting                 # the principal (policy applies)
//	    roles: [analyst]
//	    timeout: 10m
//	    retries: 3                        # after the first attempt
//	    backoff: 30s                      # doubles per retry, up to max_backoff
//	    overlap: skip                     # or queue
type Definition struct {
	Name       string         `yaml:"name"`
	Schedule   string         `yaml:"schedule"`
	Timezone   string         `yaml:"timezone"`
	SQL        string         `yaml:"sql"`
	Output     string         `yaml:"output"`
	Format     string         `yaml:"format"`
	RunAs      string         `yaml:"run_as"`
	Roles      []string       `yaml:"roles"`
	Claims     map[string]any `yaml:"claims"`
	Timeout    string         `yaml:"timeout"`
	Retries    *int           `yaml:"retries"`
	Backoff    string         `yaml:"backoff"`
	MaxBackoff string         `yaml:"max_backoff"`
	Overlap    string         `yaml:"overlap"`
	// Replace lets a run overwrite an existing output; without it the
	// publish is conditional (If-None-Match) and an existing object fails
	// the run.
	Replace bool `yaml:"replace"`
}

// File is the top level of reports.yaml.
type File struct {
	Reports []yaml.Node `yaml:"reports"`
}

// Report is a validated definition, ready to schedule.
type Report struct {
	Name       string
	Spec       string // the cron expression as written
	Location   *time.Location
	Schedule   cron.Schedule
	SQL        Template // with {{ vars }}: bound as parameters
	Output     Template // with {{ vars }}: rendered as text
	Format     string
	Principal  auth.Principal
	Timeout    time.Duration
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	Overlap    string
	Replace    bool
}

// ValidationError is one invalid field of one report.
type ValidationError struct {
	// Report is the report's name, or "#N" (1-based) when it has none.
	Report string
	// Field is the YAML key at fault.
	Field string
	Msg   string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("report %s: %s: %s", e.Report, e.Field, e.Msg)
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errkind.New(errkind.Invalid, "invalid report definition")

// Is makes errors.Is(err, ErrInvalid) hold for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// SQLChecker checks that SQL (with template variables already replaced by
// ?) is one statement DuckDB can parse, with exactly params parameters.
type SQLChecker func(sql string, params int) error

// LoadFile reads and validates a reports file. A file that cannot be read
// or parsed is an error; otherwise every valid report is returned, and every
// invalid one is reported in invalid (one error per report, naming it and
// the field) without stopping the others.
func LoadFile(file string, check SQLChecker) (valid []*Report, invalid []error, err error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read reports: %w", err)
	}
	return Parse(raw, check)
}

// Parse is LoadFile over the file's bytes.
func Parse(raw []byte, check SQLChecker) (valid []*Report, invalid []error, err error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("parse reports: %w", err)
	}
	seen := map[string]bool{}
	for i, node := range f.Reports {
		d, err := decodeDefinition(&node)
		if err != nil {
			if ve := (*ValidationError)(nil); errors.As(err, &ve) {
				ve.Report = nodeName(&node, i)
			}
			invalid = append(invalid, err)
			continue
		}
		r, err := Validate(d, check)
		if err != nil {
			if ve := (*ValidationError)(nil); errors.As(err, &ve) && ve.Report == "" {
				ve.Report = fmt.Sprintf("#%d", i+1)
			}
			invalid = append(invalid, err)
			continue
		}
		if seen[r.Name] {
			invalid = append(invalid, &ValidationError{Report: r.Name, Field: "name", Msg: fmt.Sprintf("duplicate (report #%d); names must be unique", i+1)})
			continue
		}
		seen[r.Name] = true
		valid = append(valid, r)
	}
	return valid, invalid, nil
}

// decodeDefinition decodes one report key by key, so that an unknown key
// or a value of the wrong type is reported under its own name.
func decodeDefinition(n *yaml.Node) (Definition, error) {
	var d Definition
	if n.Kind != yaml.MappingNode {
		return d, &ValidationError{Field: "definition", Msg: "want a mapping of name, schedule, sql, output, …"}
	}
	fields := map[string]reflect.Value{}
	v := reflect.ValueOf(&d).Elem()
	var known []string
	for i := range v.NumField() {
		tag := v.Type().Field(i).Tag.Get("yaml")
		fields[tag] = v.Field(i)
		known = append(known, tag)
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		key, val := n.Content[j].Value, n.Content[j+1]
		f, ok := fields[key]
		if !ok {
			return d, &ValidationError{Field: key, Msg: fmt.Sprintf("unknown field (known: %s)", strings.Join(known, ", "))}
		}
		if err := val.Decode(f.Addr().Interface()); err != nil {
			return d, &ValidationError{Field: key, Msg: decodeMsg(err)}
		}
	}
	return d, nil
}

// nodeName is the name key of a report node that failed to decode.
func nodeName(n *yaml.Node, i int) string {
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "name" && n.Content[j+1].Value != "" {
				return n.Content[j+1].Value
			}
		}
	}
	return fmt.Sprintf("#%d", i+1)
}

// decodeMsg trims yaml.v3's "yaml: unmarshal errors:\n  line 3: …".
func decodeMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	return strings.Join(strings.Fields(msg), " ")
}

// Validate checks one definition and builds its Report. The error is a
// *ValidationError naming the first bad field.
func Validate(d Definition, check SQLChecker) (*Report, error) {
	bad := func(field, format string, args ...any) error {
		return &ValidationError{Report: d.Name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if d.Name == "" {
		return nil, bad("name", "required")
	}
	if !nameRE.MatchString(d.Name) {
		return nil, bad("name", "%q: use letters, digits, _, - and . (at most 128)", d.Name)
	}
	r := &Report{Name: d.Name, Spec: strings.TrimSpace(d.Schedule), Replace: d.Replace}

	r.Location = time.UTC
	if d.Timezone != "" {
		loc, err := time.LoadLocation(d.Timezone)
		if err != nil || d.Timezone == "Local" {
			return nil, bad("timezone", "%q is not an IANA time zone (e.g. Europe/Paris, UTC)", d.Timezone)
		}
		r.Location = loc
	}
	if r.Spec == "" {
		return nil, bad("schedule", "required: 5 cron fields (minute hour day-of-month month day-of-week)")
	}
	if strings.HasPrefix(r.Spec, "@") || strings.Contains(r.Spec, "TZ=") {
		return nil, bad("schedule", "%q: write 5 cron fields; the zone goes in timezone", r.Spec)
	}
	if n := len(strings.Fields(r.Spec)); n != 5 {
		return nil, bad("schedule", "%q has %d fields, want 5 (minute hour day-of-month month day-of-week)", r.Spec, n)
	}
	sched, err := cron.ParseStandard(r.Spec)
	if err != nil {
		return nil, bad("schedule", "%q: %v", r.Spec, err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = r.Location
	}
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, r.Location)).IsZero() {
		return nil, bad("schedule", "%q never fires", r.Spec)
	}
	r.Schedule = sched

	if strings.TrimSpace(d.SQL) == "" {
		return nil, bad("sql", "required")
	}
	if r.SQL, err = ParseTemplate(d.SQL); err != nil {
		return nil, bad("sql", "%v", err)
	}
	if check != nil {
		if err := check(r.SQL.SQL(), len(r.SQL.Vars())); err != nil {
			return nil, bad("sql", "%v", err)
		}
	}

	if d.Output == "" {
		return nil, bad("output", "required: s3://bucket/…, a local path or warehouse://schema/table/…")
	}
	if r.Output, err = ParseTemplate(d.Output); err != nil {
		return nil, bad("output", "%v", err)
	}
	sample := r.Output.Text(Params{}.sample())
	if err := checkOutputURI(sample); err != nil {
		return nil, bad("output", "%q: %v", d.Output, err)
	}
	if len(r.Output.Vars()) == 0 && !d.Replace {
		return nil, bad("output", "%q has no {{ }} variable, so every run would write the same object; add {{ run_date }} (or {{ run_time }}) or set replace: true", d.Output)
	}

	r.Format = strings.ToLower(d.Format)
	if r.Format == "" {
		r.Format = formatFromExt(sample)
		if r.Format == "" {
			return nil, bad("format", "required when the output does not end in .parquet, .csv, .jsonl or .ndjson")
		}
	}
	switch r.Format {
	case FormatParquet, FormatCSV:
	case FormatJSONL, "json", "ndjson":
		r.Format = FormatJSONL
	default:
		return nil, bad("format", "%q: want parquet, csv or jsonl", d.Format)
	}
	if strings.HasPrefix(d.Output, WarehouseScheme) && r.Format != FormatParquet {
		return nil, bad("format", "a warehouse:// output is a table file and must be parquet, not %s", r.Format)
	}

	if d.RunAs == "" {
		return nil, bad("run_as", "required: the principal the report runs as (its policy applies)")
	}
	r.Principal = auth.Principal{Subject: d.RunAs, Roles: d.Roles, Claims: map[string]any{"sub": d.RunAs}}
	for k, v := range d.Claims {
		r.Principal.Claims[k] = v
	}
	if len(d.Roles) > 0 {
		roles := make([]any, len(d.Roles))
		for i, role := range d.Roles {
			roles[i] = role
		}
		r.Principal.Claims["roles"] = roles
	}

	if r.Timeout, err = duration(d.Timeout, DefaultTimeout); err != nil || r.Timeout <= 0 {
		return nil, bad("timeout", "%q: want a positive duration such as 10m", d.Timeout)
	}
	if d.Retries != nil {
		if *d.Retries < 0 || *d.Retries > 100 {
			return nil, bad("retries", "%d: want 0 to 100", *d.Retries)
		}
		r.Retries = *d.Retries
	}
	if r.Backoff, err = duration(d.Backoff, DefaultBackoff); err != nil || r.Backoff <= 0 {
		return nil, bad("backoff", "%q: want a positive duration such as 30s", d.Backoff)
	}
	if r.MaxBackoff, err = duration(d.MaxBackoff, max(DefaultMaxBackoff, r.Backoff)); err != nil || r.MaxBackoff < r.Backoff {
		return nil, bad("max_backoff", "%q: want a duration no shorter than backoff (%s)", d.MaxBackoff, r.Backoff)
	}
	switch d.Overlap {
	case "", OverlapSkip:
		r.Overlap = OverlapSkip
	case OverlapQueue:
		r.Overlap = OverlapQueue
	default:
		return nil, bad("overlap", "%q: want skip or queue", d.Overlap)
	}
	return r, nil
}

func duration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	return time.ParseDuration(s)
}

// formatFromExt guesses the format from the output's file name.
func formatFromExt(uri string) string {
	switch strings.ToLower(path.Ext(uri)) {
	case ".parquet":
		return FormatParquet
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson":
		return FormatJSONL
	}
	return ""
}

// checkOutputURI accepts s3://bucket/key, file:///abs, /abs and
// warehouse://schema/table/…/file, always naming a file.
func checkOutputURI(uri string) error {
	if strings.HasSuffix(uri, "/") {
		return errors.New("names a directory; end it with a file name such as result.parquet")
	}
	if strings.Contains(uri, "/../") || strings.Contains(uri, "/./") || strings.Contains(uri, "//") && !strings.Contains(uri, "://") {
		return errors.New("has empty, . or .. path segments")
	}
	switch {
	case strings.HasPrefix(uri, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		if bucket == "" || key == "" {
			return errors.New("want s3://bucket/key")
		}
		return checkSegments(key)
	case strings.HasPrefix(uri, WarehouseScheme):
		key := strings.TrimPrefix(uri, WarehouseScheme)
		segs := strings.Split(key, "/")
		if len(segs) < 3 {
			return errors.New("want warehouse://schema/table/…/file.parquet")
		}
		for _, s := range segs[:2] {
			if strings.HasPrefix(s, "_") || strings.HasPrefix(s, ".") || strings.Contains(s, "=") {
				return fmt.Errorf("schema and table names cannot start with _ or . or contain = (%q)", s)
			}
		}
		return checkSegments(key)
	case strings.HasPrefix(uri, "file:///"):
		return checkSegments(strings.TrimPrefix(uri, "file:///"))
	case strings.HasPrefix(uri, "/"):
		return checkSegments(strings.TrimPrefix(uri, "/"))
	case strings.Contains(uri, "://"):
		scheme, _, _ := strings.Cut(uri, "://")
		return fmt.Errorf("unsupported scheme %q (want s3://, warehouse:// or an absolute path)", scheme)
	}
	return errors.New("want s3://bucket/key, warehouse://schema/table/file or an absolute path")
}

func checkSegments(key string) error {
	for _, s := range strings.Split(key, "/") {
		if s == "" || s == "." || s == ".." {
			return errors.New("has empty, . or .. path segments")
		}
	}
	if base := path.Base(key); strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
		return fmt.Errorf("file name %q is hidden (starts with _ or .)", base)
	}
	return nil
}
