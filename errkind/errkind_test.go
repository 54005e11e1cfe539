package errkind

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOf(t *testing.T) {
	notFound := New(NotFound, "table not found")
	refused := New(PermissionDenied, "refused")
	unsupported := New(Invalid, "unsupported statement")
	unavailable := New(Unavailable, "storage unavailable")
	cases := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, Unknown},
		{"plain", errors.New("boom"), Unknown},
		{"sentinel", notFound, NotFound},
		{"wrapped", fmt.Errorf("table %s: %w", "a.b", notFound), NotFound},
		{"wrapped twice", fmt.Errorf("plan: %w", fmt.Errorf("resolve: %w", notFound)), NotFound},
		{"first of several wins", fmt.Errorf("%w: not read-only (%w)", refused, unsupported), PermissionDenied},
		{"unclassified first is skipped", fmt.Errorf("%w: %w", errors.New("aws"), unavailable), Unavailable},
		{"context cancel before what it interrupted", fmt.Errorf("read: %w: %w", context.Canceled, unavailable), Canceled},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), DeadlineExceeded},
		{"joined", errors.Join(errors.New("x"), notFound), NotFound},
		{"outer kind over inner", fmt.Errorf("%w: %w", New(DeadlineExceeded, "query timeout"), unavailable), DeadlineExceeded},
		{"permanent keeps the kind", Permanent(unavailable), Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Of(tc.err))
		})
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{New(Unavailable, "no worker available"), true},
		{fmt.Errorf("fragment 0: %w", New(Unavailable, "worker stalled")), true},
		{context.Canceled, true},
		{context.DeadlineExceeded, true},
		{New(Invalid, "invalid SQL"), false},
		{New(NotFound, "table not found"), false},
		{New(PermissionDenied, "not granted"), false},
		{New(Unauthenticated, "invalid token"), false},
		{New(Exhausted, "out of memory"), false},
		{New(Internal, "bug"), false},
		{New(AlreadyExists, "output already exists"), false},
		{New(FailedPrecondition, "corrupt parquet file"), false},
		{errors.New("unclassified: NoSuchBucket"), true},
		{Permanent(New(Unavailable, "worker lost after rows were sent")), false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, Retryable(tc.err), "%v", tc.err)
	}
}

func TestKindString(t *testing.T) {
	require.Equal(t, "NotFound", NotFound.String())
	require.Equal(t, "Internal", Internal.String())
	require.Equal(t, "Kind(?)", Kind(99).String())
}
