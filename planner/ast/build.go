package ast

import "encoding/json"

// NoLocation is DuckDB's "no query location" (uint64 max): the location
// of every node the planner makes.
var NoLocation = json.Number("18446744073709551615")

// Constant is a literal of a DuckDB type without parameters.
func Constant(typeID string, value any) Node {
	return Node{
		FieldClass: ClassConstant, FieldType: ExprValueConstant, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldValue: Node{"type": Node{"id": typeID, "type_info": nil}, "is_null": false, "value": value},
	}
}

// Null is the NULL literal.
func Null() Node {
	return Node{
		FieldClass: ClassConstant, FieldType: ExprValueConstant, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldValue: Node{"type": Node{"id": "NULL", "type_info": nil}, "is_null": true},
	}
}

// Function is a call of a scalar, aggregate or table function.
func Function(name string, args ...Node) Node {
	return Node{
		FieldClass: ClassFunction, FieldType: ExprFunction, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldFunctionName: name, "schema": "", "catalog": "", FieldChildren: List(args),
		FieldFilter: nil, FieldOrderBys: Node{FieldType: OrderModifier, FieldOrders: []any{}},
		FieldDistinct: false, FieldIsOperator: false, "export_state": false,
	}
}

// Operator is a binary operator (`+`, `/`, …), which DuckDB serializes as
// a function call marked as an operator.
func Operator(op string, l, r Node) Node {
	f := Function(op, l, r)
	f[FieldIsOperator] = true
	return f
}

// Coalesce is `coalesce(a, b, …)`, an operator in DuckDB's tree.
func Coalesce(args ...Node) Node {
	return Node{
		FieldClass: ClassOperator, FieldType: ExprCoalesce, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldChildren: List(args),
	}
}

// NamedParam is `name = value`, the way the parser writes a table
// function's named parameter.
func NamedParam(name string, value Node) Node {
	return Node{
		FieldClass: ClassComparison, FieldType: ExprCompareEqual, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldLeft: ColumnRef(name), FieldRight: value,
	}
}

// ColumnRef references a column by its (qualified) name.
func ColumnRef(names ...string) Node {
	parts := make([]any, len(names))
	for i, n := range names {
		parts[i] = n
	}
	return Node{FieldClass: ClassColumnRef, FieldType: ExprColumnRef, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldColumnNames: parts}
}

// Cast is CAST(e AS typeID) for a type without parameters.
func Cast(e Node, typeID string) Node {
	return Node{FieldClass: ClassCast, FieldType: ExprCast, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldChild: e, FieldCastType: Node{"id": typeID, "type_info": nil}, "try_cast": false}
}

// And is the conjunction of two conditions.
func And(l, r Node) Node {
	return Node{FieldClass: ClassConjunction, FieldType: ExprAnd, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldChildren: []any{l, r}}
}

// Star is `*`.
func Star() Node {
	return Node{FieldClass: ClassStar, FieldType: ExprStar, FieldAlias: "", FieldQueryLocation: NoLocation, "relation_name": "",
		"exclude_list": []any{}, "replace_list": []any{}, "rename_list": []any{}, "qualified_exclude_list": []any{},
		"columns": false, "expr": nil}
}

// Select is an empty SELECT over from.
func Select(from Node) Node {
	return Node{
		FieldType: SelectNode, FieldModifiers: []any{}, FieldCTEMap: Node{"map": []any{}},
		FieldSelectList: []any{}, FieldFromTable: from, FieldWhere: nil,
		FieldGroupBy: []any{}, FieldGroupSets: []any{}, FieldAggregateHandle: StandardHandling,
		FieldHaving: nil, FieldSample: nil, FieldQualify: nil,
	}
}

// Table references a table by name.
func Table(schema, name string) Node {
	return Node{FieldType: BaseTable, FieldAlias: "", FieldSample: nil, FieldQueryLocation: NoLocation,
		FieldSchemaName: schema, FieldTableName: name, FieldCatalogName: "", FieldColumnAliases: []any{}, FieldAtClause: nil}
}

// SubqueryRef is `(query) AS alias` in a FROM clause.
func SubqueryRef(query Node, alias string) Node {
	return Node{FieldType: Subquery, FieldAlias: alias, FieldSample: nil, FieldQueryLocation: NoLocation,
		FieldColumnAliases: []any{}, FieldSubquery: Node{FieldNamedParams: []any{}, FieldNode: query}}
}

// TableFunctionRef is `fn(…) AS alias` in a FROM clause.
func TableFunctionRef(fn Node, alias string) Node {
	return Node{FieldType: TableFunction, FieldAlias: alias, FieldSample: nil, FieldQueryLocation: NoLocation,
		FieldColumnAliases: []any{}, "with_ordinality": "WITHOUT_ORDINALITY", FieldFunction: fn}
}

// OrderByAll is the modifier `ORDER BY ALL`.
func OrderByAll() Node {
	all := Star()
	all["columns"] = true
	return Node{FieldType: OrderModifier, FieldOrders: []any{Node{
		FieldType: "ORDER_DEFAULT", "null_order": "ORDER_DEFAULT", "expression": all,
	}}}
}

// Limit is the modifier `LIMIT limit OFFSET offset`; nil leaves either out.
func Limit(limit, offset Node) Node {
	var l, o any
	if limit != nil {
		l = limit
	}
	if offset != nil {
		o = offset
	}
	return Node{FieldType: LimitModifier, FieldLimit: l, FieldOffset: o}
}

// Or is the disjunction of two conditions.
func Or(l, r Node) Node {
	return Node{FieldClass: ClassConjunction, FieldType: ExprOr, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldChildren: []any{l, r}}
}

// Equal is `l = r`.
func Equal(l, r Node) Node {
	return Node{FieldClass: ClassComparison, FieldType: ExprCompareEqual, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldLeft: l, FieldRight: r}
}

// unary is an operator of one operand (NOT, IS NULL, IS NOT NULL).
func unary(typ string, e Node) Node {
	return Node{FieldClass: ClassOperator, FieldType: typ, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldChildren: []any{e}}
}

// Not is `NOT e`.
func Not(e Node) Node { return unary(ExprNot, e) }

// IsNull is `e IS NULL`.
func IsNull(e Node) Node { return unary(ExprIsNull, e) }

// IsNotNull is `e IS NOT NULL`.
func IsNotNull(e Node) Node { return unary(ExprIsNotNull, e) }

// NotDistinct is `l IS NOT DISTINCT FROM r`.
func NotDistinct(l, r Node) Node {
	return Node{FieldClass: ClassComparison, FieldType: ExprCompareNotDistinct, FieldAlias: "", FieldQueryLocation: NoLocation,
		FieldLeft: l, FieldRight: r}
}

// JoinRef is `l <joinType> JOIN r ON condition` in a FROM clause; a nil
// condition makes it a CROSS JOIN.
func JoinRef(l, r Node, condition any, joinType string) Node {
	ref := RefRegular
	if condition == nil {
		ref, joinType = RefCross, JoinInner
	}
	return Node{FieldType: Join, FieldAlias: "", FieldSample: nil, FieldQueryLocation: NoLocation,
		FieldLeft: l, FieldRight: r, FieldCondition: condition, FieldJoinType: joinType, FieldRefType: ref, FieldUsing: []any{},
		"delim_flipped": false, "duplicate_eliminated_columns": []any{}}
}
