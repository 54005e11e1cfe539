package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/policy"
)

// binaryFlags lists the flags `quiver <cmd> -h` prints.
func binaryFlags(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	flags := harness.CommandFlags(t, cmd)
	require.NotEmpty(t, flags, "quiver %s -h printed no flags", cmd)
	return flags
}

// TestDeploymentManifestsMatchTheBinary checks the Kubernetes manifests
// and the Dockerfile against the flags the binary has, so a renamed flag
// cannot silently break a deployment.
func TestDeploymentManifestsMatchTheBinary(t *testing.T) {
	flags := map[string]map[string]bool{"serve": binaryFlags(t, "serve"), "worker": binaryFlags(t, "worker")}
	either := func(name string) bool { return flags["serve"][name] || flags["worker"][name] }
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "quiver.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	kinds := map[string]int{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		kind, _ := doc["kind"].(string)
		kinds[kind]++
		if kind == "ConfigMap" {
			data := doc["data"].(map[string]any)
			var cfg map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(data["quiver.yaml"].(string)), &cfg))
			for key := range cfg {
				require.True(t, either(key), "ConfigMap quiver.yaml key %q is no flag of serve or worker", key)
			}
			policyFile := filepath.Join(t.TempDir(), "policy.yaml")
			require.NoError(t, os.WriteFile(policyFile, []byte(data["policy.yaml"].(string)), 0o600))
			_, err := policy.OpenStore(context.Background(), policyFile, nil)
			require.NoError(t, err, "the ConfigMap's policy does not load")
		}
		spec, _ := doc["spec"].(map[string]any)
		tmpl, _ := spec["template"].(map[string]any)
		podSpec, _ := tmpl["spec"].(map[string]any)
		containers, _ := podSpec["containers"].([]any)
		for _, c := range containers {
			args := c.(map[string]any)["args"].([]any)
			cmd := args[0].(string)
			require.Contains(t, flags, cmd)
			for _, a := range args[1:] {
				name, _, _ := strings.Cut(strings.TrimLeft(a.(string), "-"), "=")
				require.True(t, flags[cmd][name], "%s %s: no such flag", cmd, a)
			}
		}
	}
	require.Equal(t, map[string]int{"Secret": 2, "ConfigMap": 1, "Service": 2, "StatefulSet": 1, "Deployment": 1}, kinds)

	docker, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`"--([a-z0-9-]+)"`).FindAllStringSubmatch(string(docker), -1) {
		require.True(t, flags["serve"][m[1]], "Dockerfile CMD flag --%s is no serve flag", m[1])
	}
}

var updateExample = flag.Bool("update-example", false, "rewrite quiver.example.yaml from the binary's --print-config")

// configBlocks runs `quiver <cmd> --print-config` with a clean environment
// and returns each key's block (help comment and default value), by key.
func configBlocks(t *testing.T, cmd string) (map[string]string, []string) {
	t.Helper()
	c := exec.Command(harness.QuiverBin(t), cmd, "--print-config")
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := c.Output()
	require.NoError(t, err, "quiver %s --print-config", cmd)
	blocks := map[string]string{}
	var keys []string
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := 1; i+1 < len(lines); i += 2 {
		comment, value := lines[i], lines[i+1]
		require.True(t, strings.HasPrefix(comment, "# "), "line %q", comment)
		key, _, ok := strings.Cut(value, ":")
		require.True(t, ok, "line %q", value)
		comment = strings.TrimSuffix(comment, " (default)")
		blocks[key] = comment + "\n" + value + "\n"
		keys = append(keys, key)
	}
	return blocks, keys
}

// TestConfigExample keeps quiver.example.yaml equal to what the binary
// documents: every key of both roles, with its help and default.
func TestConfigExample(t *testing.T) {
	serve, serveKeys := configBlocks(t, "serve")
	work, workKeys := configBlocks(t, "worker")
	var b strings.Builder
	b.WriteString(`# quiver.example.yaml: every configuration key of "quiver serve" (the
# coordinator) and "quiver worker", with its default. Keys are flag names; pass
# the file with --config (QUIVER_CONFIG). Flags win over QUIVER_<KEY>
# environment variables, which win over this file. One file can configure both
# roles: each ignores the other's keys. "quiver serve --print-config" prints
# the effective configuration in this format, secrets redacted.
#
# Generated from the binary: go test ./e2e -run TestConfigExample -update-example
`)
	b.WriteString("\n# ---- both roles " + strings.Repeat("-", 60) + "\n")
	for _, k := range serveKeys {
		if _, ok := work[k]; ok {
			block := serve[k]
			if wv, sv := strings.SplitN(work[k], "\n", 2)[1], strings.SplitN(block, "\n", 2)[1]; wv != sv {
				block = strings.Replace(block, "\n", fmt.Sprintf(" [worker default: %s]\n", strings.TrimSpace(wv)), 1)
			}
			b.WriteString(block)
		}
	}
	b.WriteString("\n# ---- quiver serve " + strings.Repeat("-", 58) + "\n")
	for _, k := range serveKeys {
		if _, ok := work[k]; !ok {
			b.WriteString(serve[k])
		}
	}
	b.WriteString("\n# ---- quiver worker " + strings.Repeat("-", 57) + "\n")
	for _, k := range workKeys {
		if _, ok := serve[k]; !ok {
			b.WriteString(work[k])
		}
	}
	path := filepath.Join("..", "quiver.example.yaml")
	if *updateExample {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, b.String(), string(got), "quiver.example.yaml is stale: go test ./e2e -run TestConfigExample -update-example")
	// The file is valid configuration for both roles.
	for _, cmd := range []string{"serve", "worker"} {
		out, err := exec.Command(harness.QuiverBin(t), cmd, "--config", path, "--print-config").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
}
