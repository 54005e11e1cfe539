package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/quiver-data/quiver/e2e/harness"
)

// The README's own addresses, which the test rewrites to its servers'.
const (
	readmeFlightAddr = "127.0.0.1:8815"
	readmeHTTPAddr   = "127.0.0.1:9090"
)

// readmeBlock is one fenced code block of README.md.
type readmeBlock struct {
	line int    // 1-based line of the opening fence
	lang string // the fence's info string, lowercased ("" for none)
	code string
	// skip is the reason given by a `<!-- readme-test: skip: … -->` marker.
	skip string
	// serverArgs, from `<!-- readme-test: server: ARGS[; setup: CMD] -->`,
	// are extra `quiver serve` flags of a server started for this block
	// alone; setup runs with bash in the block's directory first (to write
	// the files those flags name; `setup: above` runs the shell block
	// above, which the reader ran), and relative paths among the flags are
	// resolved against that directory.
	serverArgs []string
	setup      string
	hasServer  bool
}

// readmeMarker matches a marker comment on a line of its own.
var readmeMarker = regexp.MustCompile(`^<!--\s*readme-test:\s*(.*?)\s*-->$`)

// shellLangs are the info strings of blocks run with bash.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true}

// textLangs are info strings of blocks that show output or a format, not
// something to run.
var textLangs = map[string]bool{"": true, "text": true, "output": true}

// parseReadme splits markdown into its fenced blocks. A marker applies to
// the next block when only blank lines separate them; a marker followed by
// anything else, a skip without a reason or an unknown marker is an error,
// so a marker cannot silently stop applying.
func parseReadme(md string) ([]readmeBlock, error) {
	var blocks []readmeBlock
	var pending *readmeBlock // marker fields waiting for their block
	pendingLine := 0
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		trimmed := strings.TrimSpace(line)
		if m := readmeMarker.FindStringSubmatch(trimmed); m != nil {
			if pending != nil {
				return nil, fmt.Errorf("README.md:%d: marker not followed by a code block", pendingLine)
			}
			b, err := parseMarker(m[1])
			if err != nil {
				return nil, fmt.Errorf("README.md:%d: %w", i+1, err)
			}
			pending, pendingLine = &b, i+1
			continue
		}
		if !strings.HasPrefix(trimmed, "```") {
			if pending != nil && trimmed != "" {
				return nil, fmt.Errorf("README.md:%d: marker not followed by a code block", pendingLine)
			}
			continue
		}
		b := readmeBlock{}
		if pending != nil {
			b = *pending
			pending = nil
		}
		b.line = i + 1
		b.lang = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(trimmed, "```")))
		var code []string
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("README.md:%d: code block never closed", b.line)
			}
			if strings.TrimSpace(lines[i]) == "```" {
				break
			}
			code = append(code, lines[i])
		}
		b.code = strings.Join(code, "\n") + "\n"
		blocks = append(blocks, b)
	}
	if pending != nil {
		return nil, fmt.Errorf("README.md:%d: marker not followed by a code block", pendingLine)
	}
	return blocks, nil
}

// parseMarker reads the text of a readme-test marker.
func parseMarker(text string) (readmeBlock, error) {
	var b readmeBlock
	switch {
	case strings.HasPrefix(text, "skip:"):
		b.skip = strings.TrimSpace(strings.TrimPrefix(text, "skip:"))
		if b.skip == "" {
			return b, errors.New("readme-test skip marker without a reason")
		}
	case text == "skip":
		return b, errors.New("readme-test skip marker without a reason")
	case strings.HasPrefix(text, "server:"):
		b.hasServer = true
		args, setup, _ := strings.Cut(strings.TrimPrefix(text, "server:"), "; setup:")
		b.serverArgs = strings.Fields(args)
		b.setup = strings.TrimSpace(setup)
		if len(b.serverArgs) == 0 {
			return b, errors.New("readme-test server marker without flags")
		}
	default:
		return b, fmt.Errorf("unknown readme-test marker %q (want skip: REASON or server: FLAGS[; setup: CMD])", text)
	}
	return b, nil
}

func TestParseReadme(t *testing.T) {
	cases := []struct {
		name, md, err string
		want          []readmeBlock
	}{
		{name: "plain", md: "x\n```sh\necho hi\n```\n", want: []readmeBlock{{line: 2, lang: "sh", code: "echo hi\n"}}},
		{name: "skip", md: "<!-- readme-test: skip: starts a server -->\n\n```sh\nmake demo\n```\n",
			want: []readmeBlock{{line: 3, lang: "sh", code: "make demo\n", skip: "starts a server"}}},
		{name: "server", md: "<!-- readme-test: server: --jwt-secret-file s; setup: head -c 32 /dev/urandom > s -->\n```sh\nq\n```\n",
			want: []readmeBlock{{line: 2, lang: "sh", code: "q\n", hasServer: true, serverArgs: []string{"--jwt-secret-file", "s"}, setup: "head -c 32 /dev/urandom > s"}}},
		{name: "skip without reason", md: "<!-- readme-test: skip: -->\n```sh\nx\n```\n", err: "without a reason"},
		{name: "unknown marker", md: "<!-- readme-test: maybe -->\n```sh\nx\n```\n", err: "unknown readme-test marker"},
		{name: "marker before text", md: "<!-- readme-test: skip: r -->\nprose\n```sh\nx\n```\n", err: "not followed by a code block"},
		{name: "unclosed", md: "```sh\nx\n", err: "never closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReadme(tc.md)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestREADME runs every fenced code block of README.md, as a new user would
// paste it, against a real `quiver serve` over demo data: sh/bash/console
// with bash, python with the venv's python, go as a program in a module of
// its own, sql through `quiver query`, yaml through the command that loads
// that kind of file. The README's addresses are rewritten to the test
// server's. Output-only blocks (no info string, text) are not run; a block
// that cannot run here says why in a skip marker.
func TestREADME(t *testing.T) {
	root := harness.RepoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	blocks, err := parseReadme(string(md))
	require.NoError(t, err)

	release := harness.ReleaseBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh})
	env := &readmeEnv{root: root, release: release, warehouse: wh, server: srv, shellVenv: shellVenv(t)}

	var ran, skipped int
	var skips []string
	var above readmeBlock // the last block not shown as text
	for _, b := range blocks {
		if textLangs[b.lang] {
			continue
		}
		code := b.code
		if b.skip != "" {
			skipped++
			skips = append(skips, fmt.Sprintf("README.md:%d (%s): %s", b.line, b.lang, b.skip))
			above = b
			continue
		}
		if b.setup == "above" {
			if !shellLangs[above.lang] {
				t.Fatalf("README.md:%d: setup: above, but the block above is no shell block", b.line)
			}
			b.setup = above.code
		}
		ran++
		t.Run(fmt.Sprintf("line_%d_%s", b.line, b.lang), func(t *testing.T) {
			env.run(t, b)
		})
		above = b
		above.code = code
	}
	t.Logf("README: %d blocks run, %d skipped", ran, skipped)
	for _, s := range skips {
		t.Logf("skipped %s", s)
	}
}

// readmeEnv is what every block runs against.
type readmeEnv struct {
	root, release, warehouse string
	server                   *harness.Server
	// shellVenv is the bin directory of a throwaway venv that sh blocks
	// find first on PATH (python, pip), see shellVenv.
	shellVenv string
}

// shellVenv makes a venv for the shell blocks' `python` and `pip`: empty,
// but seeing the packages of the client's venv (QUIVER_PYTHON's) through a
// .pth file, so `pip install ./clients/python` only builds the client and
// installs it here, offline from the wheelhouse, and neither the shared
// venv nor the user's site-packages are touched.
func shellVenv(t *testing.T) string {
	t.Helper()
	py := pythonBin(t)
	dir := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(py, "-m", "venv", "--without-pip", dir).CombinedOutput()
	require.NoError(t, err, "make the shell blocks' venv:\n%s", out)
	purelib := func(python string) string {
		out, err := exec.Command(python, "-c", `import sysconfig; print(sysconfig.get_paths()["purelib"])`).Output()
		require.NoError(t, err, "%s: purelib", python)
		return strings.TrimSpace(string(out))
	}
	parent, own := purelib(py), purelib(filepath.Join(dir, "bin", "python"))
	// addsitedir, not a plain path line: the parent's own .pth files (the
	// editable client) must be read too.
	pth := fmt.Sprintf("import site; site.addsitedir(%q)\n", parent)
	require.NoError(t, os.WriteFile(filepath.Join(own, "_readme_parent.pth"), []byte(pth), 0o644))
	pip := fmt.Sprintf("#!/bin/sh\nexec %q -m pip \"$@\"\n", filepath.Join(dir, "bin", "python"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "pip"), []byte(pip), 0o755))
	return filepath.Join(dir, "bin")
}

// blockTimeout bounds one block; a Go block includes its build.
const blockTimeout = 90 * time.Second

func (e *readmeEnv) run(t *testing.T, b readmeBlock) {
	dir := t.TempDir()
	// README commands say bin/quiver, and `quiver` once it is installed.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.Symlink(e.release, filepath.Join(dir, "bin", "quiver")))
	// …and paths of the checkout: ./clients/python, notebooks/, and
	// .venv/bin/python, the client's venv (QUIVER_PYTHON's).
	for _, p := range []string{"clients", "notebooks"} {
		require.NoError(t, os.Symlink(filepath.Join(e.root, p), filepath.Join(dir, p)))
	}
	require.NoError(t, os.Symlink(filepath.Dir(filepath.Dir(pythonBin(t))), filepath.Join(dir, ".venv")))

	srv := e.server
	if b.hasServer {
		if b.setup != "" {
			out, err := e.bash(t, dir, e.shellEnv(dir), b.setup)
			require.NoError(t, err, "README.md:%d: setup %q:\n%s", b.line, b.setup, out)
		}
		args := make([]string, len(b.serverArgs))
		for i, a := range b.serverArgs {
			args[i] = a
			if !strings.HasPrefix(a, "-") {
				if _, err := os.Stat(filepath.Join(dir, a)); err == nil {
					args[i] = filepath.Join(dir, a)
				}
			}
		}
		ready := servesOrRefuses
		if slices.Contains(args, "--tls-cert") {
			ready = handshakes
		}
		srv = harness.StartServer(t, harness.ServerOptions{Warehouse: e.warehouse, LocalWorkers: 1, Args: args, Ready: ready})
	}
	httpAddr := strings.TrimSuffix(strings.TrimPrefix(srv.MetricsURL(), "http://"), "/metrics")
	code := strings.NewReplacer(readmeFlightAddr, srv.Addr(), readmeHTTPAddr, httpAddr).Replace(b.code)
	runEnv := []string{
		"QUIVER_URI=grpc://" + srv.Addr(),
		"PATH=" + filepath.Join(dir, "bin") + ":" + os.Getenv("PATH"),
	}

	var out string
	var err error
	switch b.lang {
	case "sh", "bash", "shell":
		out, err = e.bash(t, dir, append(runEnv, e.shellEnv(dir)...), code)
	case "console":
		out, err = e.bash(t, dir, append(runEnv, e.shellEnv(dir)...), consoleCommands(code))
	case "python", "py":
		path := filepath.Join(dir, "snippet.py")
		require.NoError(t, os.WriteFile(path, []byte(code), 0o644))
		out, err = e.exec(t, dir, runEnv, pythonBin(t), path)
	case "go":
		out, err = e.goRun(t, dir, runEnv, code)
	case "sql":
		out, err = e.exec(t, dir, runEnv, e.release, "query", "--server", srv.Addr(), code)
	case "yaml", "yml":
		out, err = e.yaml(t, dir, runEnv, code)
	case "java":
		out, err = e.java(t, dir, runEnv, code)
	case "rego":
		// A Rego policy is checked by starting a server with it: a
		// bundle that does not compile stops the start.
		path := filepath.Join(dir, "policy.rego")
		require.NoError(t, os.WriteFile(path, []byte(code), 0o644))
		s := harness.StartServer(t, harness.ServerOptions{Warehouse: e.warehouse, LocalWorkers: 1,
			Args: []string{"--policy-rego", path}, Ready: servesOrRefuses})
		out = s.Logs()
	default:
		t.Fatalf("README.md:%d: no runner for a ```%s block: give it one in e2e/readme_test.go, "+
			"or mark it <!-- readme-test: skip: REASON -->", b.line, b.lang)
	}
	require.NoError(t, err, "README.md:%d: ```%s block failed:\n%s\noutput:\n%s", b.line, b.lang, code, out)
	if len(out) > 2000 {
		out = out[:2000] + "…"
	}
	t.Logf("README.md:%d ok:\n%s", b.line, out)
}

// servesOrRefuses is ready when SELECT 1 succeeds or is refused for want of
// credentials: the server is up either way.
func servesOrRefuses(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := harness.DialFlightSQL(addr, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close() }()
	res, err := harness.RunFlightSQL(ctx, cl, "SELECT 1")
	if err == nil {
		res.Release()
		return nil
	}
	if status.Code(err) == codes.Unauthenticated {
		return nil
	}
	return err
}

// handshakes is ready when a TLS handshake with addr completes: a server
// serving TLS with a certificate the test does not know.
func handshakes(addr string) error {
	// No verification: this only asks whether the port speaks TLS.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		return err
	}
	return conn.Close()
}

// pythonBin is the venv's python, which has the client installed.
func pythonBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("QUIVER_PYTHON")
	if p == "" {
		p = filepath.Join(harness.RepoRoot(t), ".venv", "bin", "python")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("python not found at %s (set QUIVER_PYTHON or run `make tools`)", p)
	}
	return p
}

// consoleCommands keeps the commands of a console transcript ("$ cmd").
func consoleCommands(code string) string {
	var cmds []string
	sc := bufio.NewScanner(strings.NewReader(code))
	for sc.Scan() {
		if c, ok := strings.CutPrefix(sc.Text(), "$ "); ok {
			cmds = append(cmds, c)
		}
	}
	return strings.Join(cmds, "\n") + "\n"
}

// shellEnv puts the shell venv on PATH, after the block's bin/, and keeps pip offline and
// inside a venv.
func (e *readmeEnv) shellEnv(dir string) []string {
	env := []string{
		"PATH=" + filepath.Join(dir, "bin") + ":" + e.shellVenv + ":" + os.Getenv("PATH"),
		"PIP_NO_INDEX=1", "PIP_REQUIRE_VIRTUALENV=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONNOUSERSITE=1",
	}
	if wh := os.Getenv("QUIVER_WHEELHOUSE"); wh != "" {
		env = append(env, "PIP_FIND_LINKS="+wh)
	}
	return env
}

func (e *readmeEnv) bash(t *testing.T, dir string, env []string, code string) (string, error) {
	path := filepath.Join(dir, "snippet.sh")
	require.NoError(t, os.WriteFile(path, []byte(code), 0o644))
	return e.exec(t, dir, env, "bash", "-euo", "pipefail", path)
}

// goRun builds the block as the main package of a module of its own, with
// the repository's requirements (so arrow-go is the version Quiver uses)
// and quiver replaced by this checkout, and runs it.
func (e *readmeEnv) goRun(t *testing.T, dir string, env []string, code string) (string, error) {
	gomod, err := os.ReadFile(filepath.Join(e.root, "go.mod"))
	require.NoError(t, err)
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(gomod), "module readmesnippet")
	mod += "\nrequire github.com/quiver-data/quiver v0.0.0\n\nreplace github.com/quiver-data/quiver => " + e.root + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	sum, err := os.ReadFile(filepath.Join(e.root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644))
	env = append(env, "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	return e.exec(t, dir, env, "go", "run", ".")
}

// yaml checks a configuration, policy or reports file with the command that
// loads it: reports with `quiver report check`, a policy by starting a
// server with it (a policy that does not load stops the start), and a
// configuration with `--print-config`, where every key must be a flag of
// serve or worker and come back with the block's value (unknown keys are
// otherwise ignored, since one file serves both roles).
func (e *readmeEnv) yaml(t *testing.T, dir string, env []string, code string) (string, error) {
	path := filepath.Join(dir, "snippet.yaml")
	require.NoError(t, os.WriteFile(path, []byte(code), 0o644))
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(code), &doc); err != nil {
		return "", fmt.Errorf("parse yaml: %w", err)
	}
	switch {
	case doc["reports"] != nil:
		return e.exec(t, dir, env, e.release, "report", "check", path)
	case doc["rules"] != nil:
		s := harness.StartServer(t, harness.ServerOptions{Warehouse: e.warehouse, LocalWorkers: 1,
			Args: []string{"--policy-file", path}, Ready: servesOrRefuses})
		return s.Logs(), nil
	}
	effective := map[string]any{}
	var outs []string
	for _, role := range []string{"serve", "worker"} {
		out, _ := e.exec(t, dir, env, e.release, role, "--config", path, "--print-config")
		outs = append(outs, out)
		var m map[string]any
		// The header and comments are YAML comments.
		if err := yaml.Unmarshal([]byte(out), &m); err != nil {
			return out, fmt.Errorf("parse %s --print-config: %w", role, err)
		}
		for k, v := range m {
			if _, ok := effective[k]; !ok {
				effective[k] = v
			}
		}
	}
	for k, v := range doc {
		got, ok := effective[k]
		if !ok {
			return strings.Join(outs, "\n"), fmt.Errorf("config key %q is no flag of serve or worker", k)
		}
		if fmt.Sprint(got) != fmt.Sprint(v) {
			return strings.Join(outs, "\n"), fmt.Errorf("config key %q: --print-config says %v, the file %v", k, got, v)
		}
	}
	return "", nil
}

// java compiles the block (its public class named in the file name) against
// the Flight SQL JDBC driver and runs it.
func (e *readmeEnv) java(t *testing.T, dir string, env []string, code string) (string, error) {
	jar := os.Getenv("QUIVER_JDBC_JAR")
	if jar == "" {
		t.Skip("QUIVER_JDBC_JAR is not set (run `make tools`)")
	}
	m := regexp.MustCompile(`public\s+(?:final\s+)?class\s+(\w+)`).FindStringSubmatch(code)
	if m == nil {
		return "", errors.New("java block has no public class")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, m[1]+".java"), []byte(code), 0o644))
	if out, err := e.exec(t, dir, env, "javac", "-cp", jar, m[1]+".java"); err != nil {
		return out, err
	}
	return e.exec(t, dir, env, "java", "--add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED",
		"-cp", jar+":.", m[1])
}

// exec runs a command in dir with env appended, in its own process group
// that is killed after blockTimeout, and returns its combined output.
func (e *readmeEnv) exec(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what the block left running
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", blockTimeout, err)
	}
	return out.String(), err
}

func TestConsoleCommands(t *testing.T) {
	got := consoleCommands("$ quiver version\nquiver 0.2.0\n$ echo hi\nhi\n")
	require.Equal(t, "quiver version\necho hi\n", got)
}
