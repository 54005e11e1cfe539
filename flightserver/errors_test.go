package flightserver

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/admission"
	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/reports"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/workerpool"
)

// TestToStatus pins what every package's sentinels mean to a client: a
// sentinel that loses its kind fails here, not in a user's retry loop.
func TestToStatus(t *testing.T) {
	cases := []struct {
		err  error
		want codes.Code
	}{
		{auth.ErrInvalidToken, codes.Unauthenticated},
		{auth.ErrNoCredentials, codes.Unauthenticated},
		{ErrTicketForeign, codes.PermissionDenied},
		{ErrNotAdmin, codes.PermissionDenied},
		{ErrQueryCancelled, codes.Canceled},
		{ErrQueryTimeout, codes.DeadlineExceeded},
		{ErrSendTimeout, codes.DeadlineExceeded},
		{ErrResultTooLarge, codes.ResourceExhausted},
		{ErrDraining, codes.Unavailable},
		{admission.ErrQueueFull, codes.Unavailable},
		{ErrSQLTooLong, codes.InvalidArgument},
		{ErrBadCompression, codes.InvalidArgument},
		{ErrTicketMisdirected, codes.InvalidArgument},
		{ErrQueryUnknown, codes.NotFound},
		{ErrTicketUnknown, codes.NotFound},
		{planner.ErrSyntax, codes.InvalidArgument},
		{planner.ErrUnsupported, codes.InvalidArgument},
		{fmt.Errorf("%w: COPY statements are not allowed (%w)", planner.ErrRefused, planner.ErrUnsupported), codes.PermissionDenied},
		{planner.ErrNotGranted, codes.PermissionDenied},
		{planner.ErrTableNotFound, codes.NotFound},
		{storage.ErrTableNotFound, codes.NotFound},
		{storage.ErrUnavailable, codes.Unavailable},
		{fmt.Errorf("read s3://b/k: %w: %w", context.Canceled, storage.ErrUnavailable), codes.Canceled},
		{storage.ErrAccessDenied, codes.PermissionDenied},
		{storage.ErrCorruptFile, codes.FailedPrecondition},
		{storage.ErrSchemaMismatch, codes.FailedPrecondition},
		{workerpool.ErrNoWorkers, codes.Unavailable},
		{fragwire.ErrSchemaMismatch, codes.Internal},
		{coordinator.ErrStalled, codes.Unavailable},
		{coordinator.ErrPartialsTooLarge, codes.ResourceExhausted},
		{reports.ErrUnknownReport, codes.NotFound},
		{reports.ErrBadRequest, codes.InvalidArgument},
		{reports.ErrStopped, codes.Unavailable},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{errors.New("unclassified"), codes.Internal},
		{flightwire.Remote("worker w", status.Error(codes.ResourceExhausted, "out of memory")), codes.ResourceExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			got := status.Convert(toStatus(fmt.Errorf("wrapped: %w", tc.err)))
			require.Equal(t, tc.want, got.Code(), "%v", tc.err)
		})
	}
	require.NoError(t, toStatus(nil))
}
