package objstore

import (
	"errors"

	"github.com/quiver-data/quiver/errkind"
)

// Errors of the stores. They are wrapped with context (the operation, the
// object key, the endpoint), so callers test them with errors.Is; package
// storage re-exports them, so the warehouse's callers need not import this
// package.
var (
	// ErrUnavailable is a store that cannot be reached (DNS failure, refused
	// connection, timeout, 5xx after retries); the message names the endpoint.
	ErrUnavailable = errkind.New(errkind.Unavailable, "storage unavailable")
	// ErrAccessDenied is a store that refused our credentials or permissions.
	ErrAccessDenied = errkind.New(errkind.PermissionDenied, "storage access denied")
	// ErrExists is a conditional write (PutFile or Move with ifAbsent)
	// whose key already exists; the message names the object.
	ErrExists = errkind.New(errkind.AlreadyExists, "object already exists")
	// ErrObjectNotFound is a Get, Stat or Move of a key that does not
	// exist; the message names the object. A missing object on ReadRange
	// wraps fs.ErrNotExist instead.
	ErrObjectNotFound = errors.New("object not found")
)
