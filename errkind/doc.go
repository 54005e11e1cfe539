// Package errkind says what an error means for whoever made the request,
// in no protocol's terms: the request was wrong (Invalid), named something
// that does not exist (NotFound), was not allowed (PermissionDenied), the
// system could not take it now (Unavailable), and so on.
//
// Domain packages declare their sentinel errors with New, so each carries
// its kind wherever it is wrapped; Of finds the kind of any error chain, the
// outermost meaning first. Exactly one table turns kinds into gRPC codes
// (flightwire.Code), used by both Flight servers, and exactly one function
// decides whether another attempt might help (Retryable), used by the
// coordinator's fragment retries and the report scheduler alike. Nothing
// here imports gRPC: a domain package that needs a kind never does either.
package errkind
