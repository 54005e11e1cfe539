# The Trino OPA policy equivalent to this policy file (rego_test.go):
#
#   rules:
#     - match: {roles: [analyst]}
#       tables: ["demo.*"]
#       deny_columns: {demo.profiles: [name]}
#       row_filters: {demo.plays: "device = $claims.device"}
#     - match: {sub: auditor}
#       tables: [demo.plays, ice.sales.orders]
package trino

default allow := false

identity := input.context.identity

table := input.action.resource.table

analyst if "analyst" in identity.groups

auditor if identity.user == "auditor"

# The Parquet warehouse is catalog "quiver".
in_demo if {
	table.catalogName == "quiver"
	table.schemaName == "demo"
}

granted if {
	analyst
	in_demo
}

granted if {
	auditor
	table.catalogName == "quiver"
	table.schemaName == "demo"
	table.tableName == "plays"
}

granted if {
	auditor
	table.catalogName == "ice"
	table.schemaName == "sales"
	table.tableName == "orders"
}

denied(column) if {
	analyst
	in_demo
	table.tableName == "profiles"
	column == "name"
}

allow if {
	input.action.operation == "SelectFromColumns"
	granted
	every c in table.columns {
		not denied(c)
	}
}

rowFilters contains {"expression": "device = $claims.device"} if {
	input.action.operation == "GetRowFilters"
	analyst
	in_demo
	table.tableName == "plays"
}
