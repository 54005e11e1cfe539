package ast

// Query node types (the "type" of a statement's "node").
const (
	SelectNode       = "SELECT_NODE"
	SetOperationNode = "SET_OPERATION_NODE"
	RecursiveCTENode = "RECURSIVE_CTE_NODE"
	CTENode          = "CTE_NODE"
)

// Table reference types (the "type" of a FROM item).
const (
	BaseTable      = "BASE_TABLE"
	Join           = "JOIN"
	Subquery       = "SUBQUERY"
	TableFunction  = "TABLE_FUNCTION"
	EmptyFrom      = "EMPTY"
	ExpressionList = "EXPRESSION_LIST"
	ShowRef        = "SHOW_REF"
	PivotRef       = "PIVOT"
)

// Join types (a JOIN's "join_type") and reference types ("ref_type").
const (
	JoinInner = "INNER"
	JoinLeft  = "LEFT"
	JoinRight = "RIGHT"
	JoinFull  = "FULL"
	JoinSemi  = "SEMI"
	JoinAnti  = "ANTI"

	RefRegular = "REGULAR"
	RefCross   = "CROSS"
)

// Result modifier types (entries of a query node's "modifiers").
const (
	LimitModifier        = "LIMIT_MODIFIER"
	LimitPercentModifier = "LIMIT_PERCENT_MODIFIER"
	OrderModifier        = "ORDER_MODIFIER"
	DistinctModifier     = "DISTINCT_MODIFIER"
)

// Expression classes (an expression's "class").
const (
	ClassColumnRef   = "COLUMN_REF"
	ClassConstant    = "CONSTANT"
	ClassFunction    = "FUNCTION"
	ClassStar        = "STAR"
	ClassParameter   = "PARAMETER"
	ClassCast        = "CAST"
	ClassComparison  = "COMPARISON"
	ClassConjunction = "CONJUNCTION"
	ClassOperator    = "OPERATOR"
	ClassSubquery    = "SUBQUERY"
	ClassWindow      = "WINDOW"
	ClassCase        = "CASE"
	ClassBetween     = "BETWEEN"
	ClassLambda      = "LAMBDA"
	ClassCollate     = "COLLATE"
)

// Expression types (an expression's "type") the planner looks at.
const (
	ExprColumnRef     = "COLUMN_REF"
	ExprValueConstant = "VALUE_CONSTANT"
	ExprFunction      = "FUNCTION"
	ExprStar          = "STAR"
	ExprCast          = "OPERATOR_CAST"
	ExprIsNull        = "OPERATOR_IS_NULL"
	ExprIsNotNull     = "OPERATOR_IS_NOT_NULL"
	ExprNot           = "OPERATOR_NOT"
	ExprCoalesce      = "OPERATOR_COALESCE"
	ExprAnd           = "CONJUNCTION_AND"
	ExprOr            = "CONJUNCTION_OR"
	ExprCompareEqual  = "COMPARE_EQUAL"
	// ExprGroupingFunction is GROUPING(…) (class OPERATOR).
	ExprGroupingFunction   = "GROUPING_FUNCTION"
	ExprCompareNotEqual    = "COMPARE_NOTEQUAL"
	ExprCompareLess        = "COMPARE_LESSTHAN"
	ExprCompareGreater     = "COMPARE_GREATERTHAN"
	ExprCompareLessEq      = "COMPARE_LESSTHANOREQUALTO"
	ExprCompareGreaterEq   = "COMPARE_GREATERTHANOREQUALTO"
	ExprCompareIn          = "COMPARE_IN"
	ExprCompareNotIn       = "COMPARE_NOT_IN"
	ExprCompareBetween     = "COMPARE_BETWEEN"
	ExprCompareNotDistinct = "COMPARE_NOT_DISTINCT_FROM"
)

// Fields of the serialized tree.
const (
	FieldType            = "type"
	FieldClass           = "class"
	FieldAlias           = "alias"
	FieldQueryLocation   = "query_location"
	FieldChildren        = "children"
	FieldChild           = "child"
	FieldLeft            = "left"
	FieldRight           = "right"
	FieldColumnNames     = "column_names"
	FieldFunctionName    = "function_name"
	FieldSelectList      = "select_list"
	FieldFromTable       = "from_table"
	FieldWhere           = "where_clause"
	FieldGroupBy         = "group_expressions"
	FieldGroupSets       = "group_sets"
	FieldHaving          = "having"
	FieldQualify         = "qualify"
	FieldSample          = "sample"
	FieldModifiers       = "modifiers"
	FieldCTEMap          = "cte_map"
	FieldAggregateHandle = "aggregate_handling"
	FieldTableName       = "table_name"
	FieldSchemaName      = "schema_name"
	FieldCatalogName     = "catalog_name"
	FieldAtClause        = "at_clause"
	FieldColumnAliases   = "column_name_alias"
	FieldSubquery        = "subquery"
	FieldNode            = "node"
	FieldFunction        = "function"
	FieldJoinType        = "join_type"
	FieldRefType         = "ref_type"
	FieldCondition       = "condition"
	FieldUsing           = "using_columns"
	FieldLimit           = "limit"
	FieldOffset          = "offset"
	FieldOrders          = "orders"
	FieldValue           = "value"
	FieldDistinct        = "distinct"
	FieldFilter          = "filter"
	FieldOrderBys        = "order_bys"
	FieldIsOperator      = "is_operator"
	FieldCastType        = "cast_type"
	FieldNamedParams     = "named_param_map"
	FieldStatements      = "statements"
	FieldIdentifier      = "identifier"
)

// Aggregate handling of a SELECT_NODE.
const (
	StandardHandling = "STANDARD_HANDLING"
	ForceAggregates  = "FORCE_AGGREGATES"
)
