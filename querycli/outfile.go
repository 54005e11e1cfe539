package querycli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/quiver-data/quiver/output"
)

// OutputFormat is the format a result sent to out is written in, the one
// rule for every --out form: standard output (out ""), a plain path,
// file:// and s3://. An explicit format wins, but it must agree with the
// extension of out when that extension names a format (.parquet, .csv,
// .json, .jsonl, .ndjson), else ErrFormatConflict; without a format the
// extension decides. Only standard output defaults to the table, which
// cannot be Parquet; a file whose extension names no format needs an
// explicit format (output.ErrUnknownFormat), and a published object (s3://,
// file://) is csv, json or parquet, never a table.
func OutputFormat(out, format string) (string, error) {
	if err := output.CheckFormat(format); err != nil {
		return "", err
	}
	if out == "" {
		switch format {
		case "":
			return output.FormatTable, nil
		case output.FormatParquet:
			return "", errors.New("--format parquet needs --out FILE: Parquet is not for a terminal")
		}
		return format, nil
	}
	implied := formatOfExtension(out)
	switch {
	case format == "" && implied == "":
		return "", fmt.Errorf("%w: cannot tell the format of --out %s from its extension: name it .parquet, .csv or .json, or give --format %s",
			output.ErrUnknownFormat, out, formatChoices(out))
	case format == "":
		format = implied
	case implied != "" && implied != format:
		return "", fmt.Errorf("%w: --format %s, but --out %s is named like %s; drop --format or change the extension",
			ErrFormatConflict, format, out, implied)
	}
	if format == output.FormatTable && IsPublishURI(out) {
		return "", fmt.Errorf("%w: table for %s (a published object is csv, json or parquet)", output.ErrUnknownFormat, out)
	}
	return format, nil
}

func formatChoices(out string) string {
	if IsPublishURI(out) {
		return "csv, json or parquet"
	}
	return "csv, json, parquet or table"
}

// formatOfExtension is the format a file name's extension implies, "" when
// it implies none.
func formatOfExtension(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".parquet":
		return output.FormatParquet
	case ".csv":
		return output.FormatCSV
	case ".json", ".jsonl", ".ndjson":
		return output.FormatJSON
	}
	return ""
}

// Written says what WriteFile wrote.
type Written struct {
	// Path is the file written.
	Path string
	// Format is the format it was written in.
	Format string
	// Rows is the number of rows of the result.
	Rows int64
	// Shown is how many of them the file holds: Rows, except for a table
	// (at most Options.MaxRows).
	Shown int64
	// Bytes is the size of the file.
	Bytes int64
}

// String is the line `quiver query --out` prints on standard error:
// "wrote 1,234 rows (56 KiB, parquet) to plays.parquet".
func (w Written) String() string {
	rows := groupThousands(w.Rows) + " rows"
	if w.Rows == 1 {
		rows = "1 row"
	}
	if w.Shown != w.Rows {
		rows = groupThousands(w.Shown) + " of " + rows
	}
	return fmt.Sprintf("wrote %s (%s, %s) to %s", rows, byteSize(w.Bytes), w.Format, w.Path)
}

// WriteFile runs opts.SQL like Run and writes the result to the local file
// path, in opts.Format or the format path's extension implies
// (OutputFormat). The file is created only once the server has accepted
// the query, so a refused query leaves an existing file alone; a result
// that fails midway removes the partial file, which could otherwise pass
// for a complete one (a CSV file has no footer).
func WriteFile(ctx context.Context, opts Options, path string) (Written, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = output.DefaultMaxRows
	}
	if strings.TrimSpace(opts.SQL) == "" {
		return Written{}, ErrNoSQL
	}
	if path == "" || IsPublishURI(path) {
		return Written{}, fmt.Errorf("--out %q: want a local file path", path)
	}
	format, err := OutputFormat(path, opts.Format)
	if err != nil {
		return Written{}, err
	}
	rdr, release, err := query(ctx, opts)
	if err != nil {
		return Written{}, err
	}
	defer release()

	f, err := os.Create(path)
	if err != nil {
		return Written{}, fmt.Errorf("create %s: %w", path, err)
	}
	counted := &output.CountingReader{RecordReader: rdr}
	out := &countingWriter{w: f}
	err = output.RenderWith(ctx, out, format, counted, opts.MaxRows, opts.allocator())
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", path, cerr)
	}
	if err != nil {
		return Written{}, removePartial(path, err)
	}
	w := Written{Path: path, Format: format, Rows: counted.Rows, Shown: counted.Rows, Bytes: out.n}
	if format == output.FormatTable {
		w.Shown = min(w.Rows, int64(opts.MaxRows))
	}
	return w, nil
}

// removePartial removes the regular file a failed result was written to
// (never a device or a pipe such as /dev/stdout) and says so in err.
func removePartial(path string, err error) error {
	if st, serr := os.Stat(path); serr != nil || !st.Mode().IsRegular() {
		return err
	}
	if rerr := os.Remove(path); rerr != nil {
		return fmt.Errorf("%w (and the partial %s could not be removed: %v)", err, path, rerr)
	}
	return fmt.Errorf("%w (removed the partial %s)", err, path)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// byteSize is n in B, KiB, MiB or GiB, rounded to what a person reads.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if f < unit {
			break
		}
		f, suffix = f/unit, s
	}
	if f < 10 {
		return strconv.FormatFloat(f, 'f', 1, 64) + " " + suffix
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " " + suffix
}
