# The masks policy (../masks) in Trino's batch form.
package trino

allow := true

batchColumnMasks contains {"index": i, "viewExpression": {"expression": "'***'"}} if {
	input.action.operation == "GetColumnMask"
	some i, r in input.action.filterResources
	some t in r.column.tags
	startswith(t, "pii:")
	not "privacy" in input.context.identity.groups
}
