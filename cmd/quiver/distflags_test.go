package main

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestByteSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1073741824", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"512MiB", 512 << 20, false},
		{"2GB", 2_000_000_000, false},
		{"64k", 64 << 10, false},
		{" 10 mib ", 10 << 20, false},
		{"lots", 0, true},
		{"1.5GiB", 0, true},
		{"3parsecs", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var b byteSize
			err := b.Set(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, tc.want, b)
		})
	}
}

func TestDistFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		err  string
	}{
		{"defaults", nil, ""},
		{"all set", []string{"--worker-dns", "w.svc:8816", "--worker-dns-interval", "5s", "--max-partials-bytes", "2GiB",
			"--fragment-stall-timeout", "1m", "--worker-grace", "3s", "--result-routing", "direct"}, ""},
		{"bad routing", []string{"--result-routing", "carrier-pigeon"}, "proxy or direct"},
		{"zstd everywhere", []string{"--ipc-compression", "zstd"}, ""},
		{"compression off", []string{"--ipc-compression", "off"}, ""},
		{"bad compression", []string{"--ipc-compression", "gzip"}, `--ipc-compression "gzip": want auto, off, zstd or lz4`},
		{"zero grace", []string{"--worker-grace", "0s"}, "--worker-grace must be positive"},
		{"spool ttl", []string{"--spool-ttl", "10m"}, ""},
		{"zero spool ttl", []string{"--spool-ttl", "0s"}, "--spool-ttl must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var d distFlags
			d.register(fs)
			require.NoError(t, fs.Parse(tc.args))
			err := d.validate()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
		})
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var d distFlags
	d.register(fs)
	require.NoError(t, fs.Parse(nil))
	require.EqualValues(t, 1<<30, d.maxPartials)
	require.Equal(t, 30*time.Second, d.stallTimeout)
	require.Equal(t, 10*time.Second, d.grace)
	require.Equal(t, 10*time.Second, d.dnsInterval)
	require.Equal(t, "proxy", d.routing)
	require.Equal(t, time.Hour, d.spoolTTL)
}

func TestBroadcastBytes(t *testing.T) {
	for _, tc := range []struct {
		name, flag  string
		local       bool
		memory      string
		want        int64
		fromWorkers bool
		err         string
	}{
		{"auto is an eighth of a local worker's memory", "auto", true, "80MB", 10_000_000, false, ""},
		{"auto with remote workers asks them", "auto", false, "80MB", 0, true, ""},
		{"a size", "64MiB", true, "80MB", 64 << 20, false, ""},
		{"a size with remote workers", "64MiB", false, "", 64 << 20, false, ""},
		{"zero never repartitions", "0", true, "80MB", 0, false, ""},
		{"not a size", "lots", true, "80MB", 0, false, "--broadcast-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := distFlags{broadcastBytes: tc.flag}
			got, fromWorkers, err := d.broadcastBytesFor(tc.local, tc.memory)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.fromWorkers, fromWorkers)
		})
	}
}
