package flightwire

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/errkind"
)

func TestCodeAndKindOfRoundTrip(t *testing.T) {
	for k := errkind.Invalid; k <= errkind.Unimplemented; k++ {
		require.Equal(t, k, KindOf(status.New(Code(k), "x")), "kind %s", k)
	}
	require.Equal(t, codes.Internal, Code(errkind.Unknown))
	require.Equal(t, errkind.Unavailable, KindOf(status.New(codes.Aborted, "x")))
	require.Equal(t, codes.Unimplemented, Code(errkind.Unimplemented))
	require.Equal(t, errkind.Unavailable, KindOf(status.New(codes.Internal, "stream terminated by RST_STREAM with error code: CANCEL")))
	require.Equal(t, errkind.Internal, KindOf(status.New(codes.Internal, "INTERNAL Error: assertion")))
	require.Equal(t, errkind.Internal, KindOf(status.New(codes.Unknown, "x")))
}

func TestRemote(t *testing.T) {
	require.Nil(t, Remote("worker a", nil))
	require.Nil(t, Remote("worker a", errors.New("dial")), "only statuses are wrapped")

	err := fmt.Errorf("fragment 0: %w", Remote("worker 10.0.0.7:8816", status.Error(codes.NotFound, "no such file")))
	require.Equal(t, errkind.NotFound, errkind.Of(err), "the kind travels with the status")
	st, ok := status.FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.NotFound, st.Code(), "a server relaying it keeps the code")
	require.Equal(t, "fragment 0: worker 10.0.0.7:8816: no such file", st.Message())
	require.False(t, errkind.Retryable(err))
	require.True(t, errkind.Retryable(Remote("worker a", status.Error(codes.Unavailable, "connection refused"))))
}
