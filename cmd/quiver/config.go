package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// listFlag is a repeatable flag (--worker a --worker b); from the
// environment it takes a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// envName is the environment variable of a flag: --s3-endpoint → QUIVER_S3_ENDPOINT.
func envName(flagName string) string {
	return "QUIVER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envNames are the environment variables a flag reads, the first one set
// wins: envName, except that --server reads QUIVER_URI first, the name the
// Python client reads too, so one variable points every client at a
// server; QUIVER_SERVER stays as an alias.
func envNames(flagName string) []string {
	if flagName == "server" {
		return []string{"QUIVER_URI", envName(flagName)}
	}
	return []string{envName(flagName)}
}

// lookupEnv is the value of the first of a flag's environment variables
// that is set, and that variable's name. Between a name and its alias an
// empty variable counts as unset (QUIVER_URI= QUIVER_SERVER=h:1 is h:1),
// as in the Python client.
func lookupEnv(flagName string) (name, value string, ok bool) {
	for _, n := range envNames(flagName) {
		v, set := os.LookupEnv(n)
		if set && v != "" {
			return n, v, true
		}
		if set && !ok {
			name, ok = n, true
		}
	}
	return name, "", ok
}

// parseFlags parses args, then fills every flag not given on the command
// line from its QUIVER_… environment variable, then from the YAML file named
// by --config (QUIVER_CONFIG). Flags win over the environment, which wins over
// the file. Keys of the file are flag names; keys other subcommands use are
// ignored, so one file can configure serve and worker alike.
func parseFlags(fs *flag.FlagSet, args []string) error {
	addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return afterParse(fs)
}

// parseInterleaved is parseFlags for commands whose positional arguments
// may sit between flags (`quiver query SQL 41 --server h:1`): it returns
// the positional arguments in order; "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	addConfigFlags(fs)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	return positional, afterParse(fs)
}

func addConfigFlags(fs *flag.FlagSet) {
	if fs.Lookup("config") == nil {
		fs.String("config", "", "YAML config file; keys are flag names (env QUIVER_CONFIG)")
	}
	if fs.Lookup("print-config") == nil {
		fs.Bool("print-config", false, "print the effective configuration (flags > QUIVER_* environment > --config file > defaults) as YAML, secrets redacted, and exit")
	}
}

// afterParse fills unset flags from the environment and the config file,
// and answers --print-config.
func afterParse(fs *flag.FlagSet) error {
	if err := fillFlags(fs); err != nil {
		return err
	}
	if fs.Lookup("print-config").Value.String() == "true" {
		if err := printConfig(os.Stdout, fs); err != nil {
			return err
		}
		return fmt.Errorf("%w: configuration printed", flag.ErrHelp)
	}
	return nil
}

// fillFlags fills the flags not given on the command line from the
// environment, then from the --config file.
func fillFlags(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if name, v, ok := lookupEnv(f.Name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			}
			set[f.Name] = true
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	path := fs.Lookup("config").Value.String()
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	for key, v := range values {
		f := fs.Lookup(key)
		if f == nil || set[key] {
			continue
		}
		items := []any{v}
		if list, ok := v.([]any); ok {
			items = list
		}
		for _, item := range items {
			if err := fs.Set(key, fmt.Sprint(item)); err != nil {
				return fmt.Errorf("config %s: %s: %w", path, key, err)
			}
		}
	}
	return nil
}

// logFlags are the logging flags every subcommand has.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "json", "log format: json or text")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
}

func (l *logFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", l.level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", l.format)
}

// secretFlag matches flags whose value itself is a secret (not a file
// naming one): it is never printed.
var secretFlag = regexp.MustCompile(`(secret|password|token|private)`)

// printConfig writes every flag's effective value as YAML a --config file
// accepts, with its source and help as a comment.
func printConfig(w io.Writer, fs *flag.FlagSet) error {
	var b strings.Builder
	b.WriteString("# Effective configuration of quiver " + fs.Name() + " (usable as --config).\n")
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "print-config" || f.Name == "config" || strings.HasPrefix(f.Usage, "old name of") {
			return
		}
		val := f.Value.String()
		if secretFlag.MatchString(f.Name) && !strings.HasSuffix(f.Name, "-file") && val != "" {
			val = "<redacted>"
		}
		val = redactURL(val)
		source := "default"
		if f.Value.String() != f.DefValue {
			source = "command line or --config"
			if name, _, ok := lookupEnv(f.Name); ok {
				source = "env " + name
			}
		}
		help, _, _ := strings.Cut(f.Usage, "\n")
		fmt.Fprintf(&b, "# %s (%s)\n", help, source)
		out, err := yaml.Marshal(map[string]string{f.Name: val})
		if err != nil {
			errs = append(errs, err)
			return
		}
		b.Write(out)
	})
	if len(errs) > 0 {
		return fmt.Errorf("print config: %w", errs[0])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// redactURL hides the password of a URL with user information.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}
