package engine

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMemoryFraction is the share of the process's memory budget that
// DuckDB gets when no memory_limit is configured. The rest is for the Go
// runtime, Arrow batches on their way to the network, gRPC buffers and the
// allocator's slack: DuckDB's memory_limit bounds its buffer pool, not the
// whole process.
const DefaultMemoryFraction = 0.75

// unlimited is the smallest cgroup v1 value that means "no limit": the
// kernel reports PAGE_COUNTER_MAX rounded to the page size (2^63-4096 on
// 64-bit), so anything this large is not a real limit.
const unlimited = int64(1) << 62

// MemoryBudget is how much memory this process may use, and where that
// number came from.
type MemoryBudget struct {
	Bytes int64
	// Source names the file the limit was read from, e.g.
	// "cgroup v2 /sys/fs/cgroup/memory.max" or "host RAM /proc/meminfo".
	Source string
}

// MemoryLimit is the memory_limit DuckDB is given, and why.
type MemoryLimit struct {
	// Value is what is passed to DuckDB: bytes, e.g. "3221225472B".
	Value string
	// Bytes is Value in bytes.
	Bytes int64
	// Reason says how Value was chosen, for the startup log.
	Reason string
}

// ResolveMemoryLimit turns a --memory-limit setting into DuckDB's
// memory_limit. An explicit size ("4GB", "512MiB") is used as given; a
// percentage ("30%") is that share of the process's memory budget; empty is
// DefaultMemoryFraction of it. The budget is the tightest cgroup limit on
// the process (DetectMemory); host RAM only when there is none. root is the
// filesystem root /proc and /sys are read under ("" is "/"; tests point it
// at fixtures).
func ResolveMemoryLimit(setting, root string) (MemoryLimit, error) {
	setting = strings.TrimSpace(setting)
	fraction := DefaultMemoryFraction
	if setting != "" && !strings.HasSuffix(setting, "%") {
		n, err := ParseSize(setting)
		if err != nil {
			return MemoryLimit{}, err
		}
		if n == 0 {
			return MemoryLimit{}, errors.New("0 would leave DuckDB no memory at all")
		}
		return MemoryLimit{Value: strconv.FormatInt(n, 10) + "B", Bytes: n, Reason: "configured"}, nil
	}
	if setting != "" {
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(setting, "%")), 64)
		if err != nil || p <= 0 || p > 100 {
			return MemoryLimit{}, fmt.Errorf("%q: a percentage must be in (0, 100]", setting)
		}
		fraction = p / 100
	}
	budget, err := DetectMemory(root)
	if err != nil {
		return MemoryLimit{}, fmt.Errorf("detect the memory available: %w", err)
	}
	n := int64(float64(budget.Bytes) * fraction)
	return MemoryLimit{
		Value:  strconv.FormatInt(n, 10) + "B",
		Bytes:  n,
		Reason: fmt.Sprintf("%g%% of %s (%s)", fraction*100, FormatSize(budget.Bytes), budget.Source),
	}, nil
}

// DetectMemory returns the memory this process may use: the smallest
// cgroup limit on its cgroup or any ancestor (v2 memory.max and
// memory.high, v1 memory.limit_in_bytes), or the host's RAM when no cgroup
// limits it. root is the filesystem root ("" is "/").
func DetectMemory(root string) (MemoryBudget, error) {
	if root == "" {
		root = "/"
	}
	cg, limited, err := cgroupMemory(root)
	if err != nil {
		return MemoryBudget{}, err
	}
	total, err := hostMemory(root)
	switch {
	case limited && (err != nil || cg.Bytes < total):
		return cg, nil
	case err != nil:
		return MemoryBudget{}, err
	case limited:
		return MemoryBudget{Bytes: total, Source: fmt.Sprintf("host RAM /proc/meminfo, below the %s of %s", cg.Source, FormatSize(cg.Bytes))}, nil
	}
	return MemoryBudget{Bytes: total, Source: "host RAM /proc/meminfo, no cgroup memory limit"}, nil
}

// cgroupMount is one cgroup filesystem from /proc/self/mountinfo.
type cgroupMount struct {
	v2         bool
	root       string // the cgroup directory mounted here
	mountPoint string
}

// cgroupMemory finds the tightest memory limit along this process's
// cgroup paths. A missing /proc/self/cgroup (not Linux, or no cgroups) is
// no limit, not an error.
func cgroupMemory(root string) (MemoryBudget, bool, error) {
	memberships, err := readCgroups(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, os.ErrNotExist) {
		return MemoryBudget{}, false, nil
	}
	if err != nil {
		return MemoryBudget{}, false, err
	}
	mounts, err := readCgroupMounts(filepath.Join(root, "proc/self/mountinfo"))
	if errors.Is(err, os.ErrNotExist) {
		return MemoryBudget{}, false, nil
	}
	if err != nil {
		return MemoryBudget{}, false, err
	}
	best := MemoryBudget{Bytes: math.MaxInt64}
	for _, m := range mounts {
		cgPath, ok := memberships.v1Memory, memberships.hasV1Memory
		files := []string{"memory.limit_in_bytes"}
		version := "v1"
		if m.v2 {
			cgPath, ok = memberships.v2, memberships.hasV2
			files = []string{"memory.max", "memory.high"}
			version = "v2"
		}
		if !ok {
			continue
		}
		for _, dir := range cgroupDirs(root, m, cgPath) {
			for _, name := range files {
				file := filepath.Join(dir, name)
				n, ok, err := readLimit(file)
				if err != nil {
					return MemoryBudget{}, false, err
				}
				if ok && n < best.Bytes {
					shown := strings.TrimPrefix(file, strings.TrimSuffix(root, "/"))
					best = MemoryBudget{Bytes: n, Source: "cgroup " + version + " " + shown}
				}
			}
		}
	}
	return best, best.Bytes != math.MaxInt64, nil
}

// cgroupDirs lists the directories of the process's cgroup and its
// ancestors under one mount, innermost first. In a container without its
// own cgroup namespace /proc/self/cgroup names a path on the host
// (/docker/<id>) while the container sees only its own cgroup mounted at
// the mount point; then the mount point itself is the process's cgroup.
func cgroupDirs(root string, m cgroupMount, cgPath string) []string {
	rel, err := filepath.Rel(m.root, cgPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		rel = "."
	}
	var out []string
	for {
		out = append(out, filepath.Join(root, m.mountPoint, rel))
		if rel == "." {
			return out
		}
		rel = path.Dir(rel)
	}
}

// readLimit reads a cgroup limit file: a number of bytes, or "max" (v2)
// or a huge number (v1) for none. A missing file is no limit.
func readLimit(file string) (int64, bool, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", file, err)
	}
	s := strings.TrimSpace(string(raw))
	if s == "max" || s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Values beyond int64 are "no limit" too.
		if u, uerr := strconv.ParseUint(s, 10, 64); uerr == nil && u > uint64(unlimited) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("read %s: %q is not a number of bytes", file, s)
	}
	if n <= 0 || n >= unlimited {
		return 0, false, nil
	}
	return n, true, nil
}

// cgroupMemberships are the process's cgroup paths from /proc/self/cgroup.
type cgroupMemberships struct {
	v2, v1Memory       string
	hasV2, hasV1Memory bool
}

// readCgroups parses /proc/self/cgroup: "0::/path" is the v2 membership,
// "N:memory[,…]:/path" the v1 memory controller's.
func readCgroups(file string) (cgroupMemberships, error) {
	f, err := os.Open(file)
	if err != nil {
		return cgroupMemberships{}, err
	}
	defer func() { _ = f.Close() }() // read only
	var c cgroupMemberships
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			c.v2, c.hasV2 = parts[2], true
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			if ctrl == "memory" {
				c.v1Memory, c.hasV1Memory = parts[2], true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return cgroupMemberships{}, fmt.Errorf("read %s: %w", file, err)
	}
	return c, nil
}

// readCgroupMounts finds the cgroup2 mounts and the cgroup v1 mounts of
// the memory controller in /proc/self/mountinfo.
func readCgroupMounts(file string) ([]cgroupMount, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fld := range fields {
			if fld == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		fstype, super := fields[sep+1], fields[sep+3]
		m := cgroupMount{root: unescapeMount(fields[3]), mountPoint: unescapeMount(fields[4])}
		switch fstype {
		case "cgroup2":
			m.v2 = true
			out = append(out, m)
		case "cgroup":
			for _, opt := range strings.Split(super, ",") {
				if opt == "memory" {
					out = append(out, m)
					break
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hostMemory reads MemTotal from /proc/meminfo.
func hostMemory(root string) (int64, error) {
	file := filepath.Join(root, "proc/meminfo")
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("host memory: %w (set the memory limit explicitly)", err)
	}
	defer func() { _ = f.Close() }() // read only
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("host memory: no MemTotal in %s (set the memory limit explicitly)", file)
}

// sizeUnits are the units DuckDB accepts for memory and disk sizes.
var sizeUnits = map[string]int64{
	"": 1, "b": 1, "byte": 1, "bytes": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"k": 1000, "m": 1000 * 1000, "g": 1000 * 1000 * 1000, "t": 1000 * 1000 * 1000 * 1000,
}

// ParseSize parses a size the way DuckDB does ("4GB" is 4·10⁹ bytes,
// "4GiB" 4·2³⁰, "512 MB", "1048576"), so a value Quiver accepts DuckDB
// accepts too.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size: want a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}

// FormatSize renders n bytes for humans, in powers of 1024.
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
