// Package policy decides what an authenticated principal may read: a policy
// file maps principals (by subject, roles or claims) to table grants,
// column denials, column masks and row filters, and everything not granted
// is denied.
//
// A Policy is a planner.Policy: for the principal in the context (see
// auth.FromContext; without authentication the caller is "anonymous") and a
// table it returns the planner.Restriction the planner rewrites the table
// reference with, or an error wrapping planner.ErrNotGranted. When several
// rules grant a table their restrictions add up, so adding a rule never
// widens what another restricts. Row filters may name $claims.<key>; the
// claim's value becomes a typed constant in the plan, and a principal whose
// token lacks the claim is refused rather than unfiltered.
//
// A Store holds the policy in force and swaps it on Reload (the server does
// so on SIGHUP); a file that does not load is an error at start and is
// ignored on reload, so a typo never opens the warehouse. Invalid files
// wrap ErrInvalid.
package policy
