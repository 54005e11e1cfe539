package flightserver

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
)

// IPC compression policies (Delivery.Compression).
const (
	// CompressionAuto compresses results with Zstd for clients that are
	// not on this machine, unless they say otherwise; the default.
	CompressionAuto = "auto"
	// CompressionOff never compresses.
	CompressionOff = "off"
)

// CompressionHeader is the request header a client sets on GetFlightInfo
// to choose the compression of the query's results: off, zstd, lz4 or
// auto (the server's policy). JDBC passes unknown connection properties
// as headers, so `x-quiver-ipc-compression=zstd` in the URL works there.
const CompressionHeader = "x-quiver-ipc-compression"

// ErrBadCompression is a compression header value that names no codec.
var ErrBadCompression = errkind.New(errkind.Invalid, "invalid "+CompressionHeader+" header")

// compressionPolicy checks a --ipc-compression value: auto, off, zstd or lz4.
func compressionPolicy(name string) (string, error) {
	switch name {
	case "", CompressionAuto:
		return CompressionAuto, nil
	case CompressionOff:
		return CompressionOff, nil
	}
	c, err := flightwire.ParseCompression(name)
	if err != nil {
		return "", fmt.Errorf("%w (--ipc-compression: auto, off, zstd or lz4)", err)
	}
	return c.String(), nil
}

// compressionFor is the IPC compression of the results of a query the
// context's client plans.
//
//   - A CompressionHeader of off, zstd or lz4 decides (auto defers to the
//     policy), except that a server with policy off never compresses.
//   - Policy zstd or lz4 compresses every result.
//   - Policy auto compresses with Zstd unless the client is on this
//     machine (loopback or a Unix socket, where compressing costs CPU on
//     both ends and saves nothing) or is a Java gRPC client: the Flight SQL
//     JDBC driver does not ship the codecs (apache/arrow-java#926).
func (s *Server) compressionFor(ctx context.Context) (flightwire.Compression, error) {
	if s.opts.Delivery.Compression == CompressionOff {
		return flightwire.Uncompressed, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(CompressionHeader); len(v) > 0 && !strings.EqualFold(strings.TrimSpace(v[0]), CompressionAuto) {
		c, err := flightwire.ParseCompression(v[0])
		if err != nil {
			return flightwire.Uncompressed, fmt.Errorf("%w: %q: want off, zstd, lz4 or auto", ErrBadCompression, v[0])
		}
		return c, nil
	}
	if s.opts.Delivery.Compression != CompressionAuto {
		return flightwire.ParseCompression(s.opts.Delivery.Compression)
	}
	if localPeer(ctx) {
		return flightwire.Uncompressed, nil
	}
	if ua := md.Get("user-agent"); len(ua) > 0 && strings.Contains(ua[0], "grpc-java") {
		return flightwire.Uncompressed, nil
	}
	return flightwire.Zstd, nil
}

// localPeer reports whether the context's client is on this machine; a
// call without a peer (in-process) counts as local.
func localPeer(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	return !ok || p.Addr == nil || localAddr(p.Addr)
}
