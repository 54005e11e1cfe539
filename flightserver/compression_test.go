package flightserver

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/flightwire"
)

// TestCompressionFor: the policy, the client's address, its user agent and
// its header decide a query's IPC compression.
func TestCompressionFor(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 50000}
	loopback := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 50000}
	loopback6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 50000}
	unix := &net.UnixAddr{Name: "/run/quiver.sock", Net: "unix"}
	const pyarrow = "grpc-c++/1.67.1 grpc-c/44.0.0 (linux; chttp2)"
	const jdbc = "grpc-java-netty/1.65.0"
	cases := []struct {
		name   string
		policy string
		addr   net.Addr // nil: no peer (in-process)
		agent  string
		header string
		want   flightwire.Compression
	}{
		{"remote client", "", remote, pyarrow, "", flightwire.Zstd},
		{"loopback client", "", loopback, pyarrow, "", flightwire.Uncompressed},
		{"loopback v6", "auto", loopback6, pyarrow, "", flightwire.Uncompressed},
		{"unix socket", "auto", unix, pyarrow, "", flightwire.Uncompressed},
		{"in process", "auto", nil, "", "", flightwire.Uncompressed},
		{"remote java (JDBC has no codec)", "auto", remote, jdbc, "", flightwire.Uncompressed},
		{"java asks for zstd", "auto", remote, jdbc, "zstd", flightwire.Zstd},
		{"loopback asks for lz4", "auto", loopback, pyarrow, "LZ4", flightwire.LZ4},
		{"remote opts out", "auto", remote, pyarrow, "off", flightwire.Uncompressed},
		{"header auto defers", "auto", remote, pyarrow, "auto", flightwire.Zstd},
		{"policy zstd on loopback", "zstd", loopback, pyarrow, "", flightwire.Zstd},
		{"policy lz4", "lz4", remote, jdbc, "", flightwire.LZ4},
		{"policy zstd, client opts out", "zstd", remote, pyarrow, "off", flightwire.Uncompressed},
		{"policy off wins over the header", "off", remote, pyarrow, "zstd", flightwire.Uncompressed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			policy, err := compressionPolicy(tc.policy)
			require.NoError(t, err)
			s := &Server{opts: Options{Delivery: Delivery{Compression: policy}}}
			ctx := context.Background()
			if tc.addr != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tc.addr})
			}
			md := metadata.MD{}
			if tc.agent != "" {
				md.Set("user-agent", tc.agent)
			}
			if tc.header != "" {
				md.Set(CompressionHeader, tc.header)
			}
			got, err := s.compressionFor(metadata.NewIncomingContext(ctx, md))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("bad header", func(t *testing.T) {
		s := &Server{opts: Options{Delivery: Delivery{Compression: CompressionAuto}}}
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(CompressionHeader, "gzip"))
		_, err := s.compressionFor(ctx)
		require.ErrorIs(t, err, ErrBadCompression)
		st := status.Convert(toStatus(err))
		require.Equal(t, codes.InvalidArgument, st.Code())
		require.Contains(t, st.Message(), `x-quiver-ipc-compression header: "gzip": want off, zstd, lz4 or auto`)
	})

	t.Run("bad policy", func(t *testing.T) {
		_, err := New(Options{Delivery: Delivery{Compression: "brotli"}})
		require.ErrorContains(t, err, `IPC compression "brotli"`)
	})
}
