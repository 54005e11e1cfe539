package flightserver

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

func TestLoopbackGuard(t *testing.T) {
	g := &guard{loopbackOnly: true}
	at := func(ip string) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 5000}})
	}
	require.NoError(t, g.check(at("127.0.0.1")))
	require.NoError(t, g.check(at("::1")))
	err := g.check(at("10.1.2.3"))
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.ErrorContains(t, err, "only accepts connections from this machine")
	require.Equal(t, codes.PermissionDenied, status.Code(g.check(context.Background())))

	open := &guard{loopbackOnly: false}
	require.NoError(t, open.check(at("10.1.2.3")))
}

func TestPanicBecomesInternal(t *testing.T) {
	g := &guard{logger: discardLogger()}
	_, err := g.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(context.Context, any) (any, error) { panic("boom") })
	require.Equal(t, codes.Internal, status.Code(err))
	require.ErrorContains(t, err, "/x/Y")
}
