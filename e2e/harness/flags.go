package harness

import (
	"os/exec"
	"regexp"
	"testing"
)

// flagRe matches a flag in Go's flag.PrintDefaults output ("  -name type").
var flagRe = regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)\b`)

// ServeFlags returns the names (without dashes) of the flags `quiver serve
// -h` lists, so tests can use a newer flag where the binary has it.
func ServeFlags(t testing.TB) map[string]bool {
	t.Helper()
	return serveFlags(QuiverBin(t))
}

// CommandFlags returns the names of the flags `quiver <cmd> -h` lists.
func CommandFlags(t testing.TB, cmd string) map[string]bool {
	t.Helper()
	return commandFlags(QuiverBin(t), cmd)
}

func serveFlags(bin string) map[string]bool { return commandFlags(bin, "serve") }

func commandFlags(bin, cmd string) map[string]bool {
	// -h exits with status 0 or 2 depending on the flag package; the usage
	// text is what matters.
	out, _ := exec.Command(bin, cmd, "-h").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range flagRe.FindAllSubmatch(out, -1) {
		flags[string(m[1])] = true
	}
	return flags
}
