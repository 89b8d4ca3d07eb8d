"""The SQL lineage engine, construct by construct and dialect family by dialect family (issue 14 item 3)."""
from __future__ import annotations

import pytest

from catalog.lineage import ColumnEdge, sql_lineage


def columns(result) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in result.column_edges}


def direct(result) -> dict[tuple[str, str], bool]:
    return {(edge.source, edge.target): edge.direct for edge in result.column_edges}


# --- interface -----------------------------------------------------------------------------------------------

def test_unknown_dialect_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match="postgres.*tsql"):
        sql_lineage("SELECT 1", dialect="cobol")


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "snowflake", "bigquery", "tsql", "spark", "hive",
                                     "databricks", "redshift", "oracle", "duckdb", "sqlite", "trino"])
def test_every_required_dialect_reads_an_insert_select(dialect):
    result = sql_lineage("INSERT INTO t (a) SELECT x FROM s", dialect=dialect)
    assert result.table_edges == {("s", "t")}
    assert result.column_edges == {ColumnEdge("s.x", "t.a", True)}


def test_names_take_the_defaults_and_are_lower_cased():
    result = sql_lineage("INSERT INTO Sales.T (A) SELECT X FROM S", dialect="postgres", default_database="DW",
                         default_schema="public")
    assert result.table_edges == {("dw.public.s", "dw.sales.t")}
    assert columns(result) == {("dw.public.s.x", "dw.sales.t.a")}


def test_quoted_names_keep_their_case_in_postgres_but_not_in_mysql():
    assert sql_lineage('INSERT INTO t SELECT "Id" FROM "Orders"', dialect="postgres").table_edges == {
        ("Orders", "t")}
    assert sql_lineage("INSERT INTO t SELECT `Id` FROM `Orders`", dialect="mysql").table_edges == {("orders", "t")}


def test_a_quoted_upper_case_name_in_snowflake_is_the_unquoted_name():
    assert sql_lineage('INSERT INTO t SELECT a FROM "ORDERS"', dialect="snowflake").table_edges == {("orders", "t")}


def test_statements_carry_kind_line_and_target():
    result = sql_lineage("SELECT 1;\n\nCREATE VIEW v AS SELECT a FROM s;\nUPDATE t SET a = 1;", dialect="postgres")
    assert [(s.index, s.line, s.kind, s.target) for s in result.statements] == [
        (0, 1, "select", ()), (1, 3, "create_view", ("v",)), (2, 4, "update", ("t",))]


def test_an_unparseable_statement_is_reported_and_the_others_still_analysed():
    result = sql_lineage("INSERT INTO t SELECT a FROM s;\nSELECT FROM WHERE;\nINSERT INTO u SELECT b FROM r;",
                         dialect="postgres")
    assert result.table_edges == {("s", "t"), ("r", "u")}
    assert [(error.index, error.line) for error in result.errors] == [(1, 2)]
    assert result.statements[1].error


@pytest.mark.parametrize("nested", [
    "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "INSERT INTO deep SELECT * FROM " + "(SELECT * FROM " * 300 + "s" + ") q" * 300,
])
def test_a_statement_nested_past_the_parser_depth_is_reported_and_the_others_still_analysed(nested):
    # sqlglot parses recursively: a deep enough nesting raises RecursionError, which must not fail the script.
    result = sql_lineage(f"INSERT INTO t SELECT a FROM s;\n{nested};\nINSERT INTO u SELECT b FROM r;",
                         dialect="postgres")
    assert result.table_edges == {("s", "t"), ("r", "u")}
    assert [(error.index, error.line) for error in result.errors] == [(1, 2)]
    assert "nested too deeply" in result.statements[1].error


def test_select_only_statements_make_no_edges():
    result = sql_lineage("SELECT a FROM s JOIN r ON s.id = r.id", dialect="postgres")
    assert not result.table_edges and not result.column_edges


# --- column semantics ----------------------------------------------------------------------------------------

def test_expression_columns_feed_but_filters_joins_and_grouping_do_not():
    result = sql_lineage("""
        INSERT INTO t (k, total, label)
        SELECT s.k, SUM(s.price * s.qty), CASE WHEN s.flag THEN r.name ELSE 'x' END
        FROM s JOIN r ON r.id = s.rid WHERE s.day > r.since GROUP BY s.k, s.flag, r.name HAVING COUNT(*) > 1
        ORDER BY s.k""", dialect="postgres")
    assert columns(result) == {("s.k", "t.k"), ("s.price", "t.total"), ("s.qty", "t.total"),
                               ("s.flag", "t.label"), ("r.name", "t.label")}
    assert direct(result)[("s.k", "t.k")] is True
    assert direct(result)[("s.price", "t.total")] is False


def test_a_cast_is_not_direct_a_rename_is():
    result = sql_lineage("CREATE TABLE t AS SELECT a AS renamed, CAST(b AS INT) AS b FROM s", dialect="postgres")
    assert direct(result) == {("s.a", "t.renamed"): True, ("s.b", "t.b"): False}


def test_window_functions_take_their_arguments_partition_and_order():
    result = sql_lineage("CREATE TABLE t AS SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) AS rn, "
                         "LAG(c) OVER (PARTITION BY a ORDER BY b) AS prev FROM s", dialect="snowflake")
    assert columns(result) == {("s.a", "t.rn"), ("s.b", "t.rn"), ("s.a", "t.prev"), ("s.b", "t.prev"),
                               ("s.c", "t.prev")}


def test_nested_and_recursive_ctes():
    result = sql_lineage("""
        WITH RECURSIVE tree AS (
            SELECT id, parent_id, name AS path FROM nodes WHERE parent_id IS NULL
            UNION ALL
            SELECT n.id, n.parent_id, t.path || '/' || n.name FROM nodes n JOIN tree t ON n.parent_id = t.id),
        leaves AS (SELECT id, path FROM tree)
        INSERT INTO paths (node_id, full_path) SELECT id, path FROM leaves""", dialect="postgres")
    assert result.table_edges == {("nodes", "paths")}
    assert columns(result) == {("nodes.id", "paths.node_id"), ("nodes.name", "paths.full_path")}
    assert direct(result)[("nodes.name", "paths.full_path")] is True  # the anchor copies it unchanged


def test_union_branches_match_by_position_whatever_their_names():
    result = sql_lineage("INSERT INTO contacts (email) SELECT email FROM customers UNION SELECT mail FROM leads",
                         dialect="mysql")
    assert columns(result) == {("customers.email", "contacts.email"), ("leads.mail", "contacts.email")}


def test_a_table_read_only_in_a_where_subquery_is_a_table_source_not_a_column_source():
    result = sql_lineage("INSERT INTO t SELECT a FROM s WHERE s.id IN (SELECT id FROM banned)", dialect="postgres")
    assert result.table_edges == {("s", "t"), ("banned", "t")}
    assert columns(result) == {("s.a", "t.a")}


def test_scalar_subquery_in_the_projection_feeds_its_output_column():
    result = sql_lineage("INSERT INTO t (a, m) SELECT s.a, (SELECT MAX(r.v) FROM r WHERE r.k = s.k) FROM s",
                         dialect="postgres")
    assert columns(result) == {("s.a", "t.a"), ("r.v", "t.m")}


def test_lateral_join_columns_come_from_the_lateral_query():
    result = sql_lineage("""
        CREATE TABLE t AS SELECT c.id, l.last_total FROM customers c
        CROSS JOIN LATERAL (SELECT o.total AS last_total FROM orders o WHERE o.cid = c.id LIMIT 1) l""",
                         dialect="postgres")
    assert columns(result) == {("customers.id", "t.id"), ("orders.total", "t.last_total")}


def test_select_star_through_a_view_of_the_same_script_and_a_subquery():
    result = sql_lineage("""
        CREATE VIEW v AS SELECT id, email FROM customers;
        CREATE TABLE t AS SELECT * FROM (SELECT * FROM v) x;""", dialect="postgres",
                         schema={"customers": ["id", "email", "phone"]})
    assert columns(result) == {("customers.id", "v.id"), ("customers.email", "v.email"), ("v.id", "t.id"),
                               ("v.email", "t.email")}  # the view is a persistent node: not collapsed


def test_schema_attributes_unqualified_columns_in_joins():
    result = sql_lineage("INSERT INTO t (a, b) SELECT name, amount FROM s JOIN r ON s.id = r.sid",
                         dialect="postgres", default_schema="public",
                         schema={"public.s": ["id", "name"], "r": ["sid", "amount"]})
    assert columns(result) == {("public.s.name", "public.t.a"), ("public.r.amount", "public.t.b")}


# PostgreSQL's pg_get_viewdef and MySQL's stored view definitions put every join in parentheses: the tables inside
# are read as if the parentheses were not there, each output column from its own table.

@pytest.mark.parametrize("dialect", ["postgres", "mysql", "tsql", "snowflake", "bigquery", "spark"])
def test_a_parenthesised_join_of_two_tables_keeps_each_column_to_its_own_table(dialect):
    result = sql_lineage("CREATE VIEW v AS SELECT c.id, c.name AS customer, o.total "
                         "FROM (customers c JOIN orders o ON c.id = o.customer_id)", dialect=dialect)
    assert result.table_edges == {("customers", "v"), ("orders", "v")}
    assert direct(result) == {("customers.id", "v.id"): True, ("customers.name", "v.customer"): True,
                              ("orders.total", "v.total"): True}


def test_nested_parenthesised_joins_of_three_and_four_tables():
    result = sql_lineage(
        "CREATE VIEW v AS SELECT c.id, o.total, p.amount, s.carrier "
        "FROM (((customers c JOIN orders o ON ((c.id = o.customer_id))) "
        "LEFT JOIN payments p ON ((p.order_id = o.id))) JOIN shipments s ON ((s.order_id = o.id)))",
        dialect="postgres")
    assert columns(result) == {("customers.id", "v.id"), ("orders.total", "v.total"),
                               ("payments.amount", "v.amount"), ("shipments.carrier", "v.carrier")}


def test_a_parenthesised_join_inside_a_join_and_around_a_derived_table():
    result = sql_lineage("INSERT INTO t (a, b, c) SELECT x.a, u.b, w.c "
                         "FROM ((SELECT a, id FROM s) x JOIN u ON x.id = u.id) JOIN (w JOIN z ON w.i = z.i) "
                         "ON w.i = u.id", dialect="postgres")
    assert columns(result) == {("s.a", "t.a"), ("u.b", "t.b"), ("w.c", "t.c")}


def test_a_parenthesised_join_with_an_alias_is_one_relation_of_the_tables_columns():
    result = sql_lineage("CREATE VIEW v AS SELECT j.name, j.total, * FROM (customers c JOIN orders o "
                         "ON c.id = o.customer_id) AS j", dialect="postgres",
                         schema={"customers": ["id", "name"], "orders": ["customer_id", "total"]})
    assert columns(result) == {("customers.name", "v.name"), ("orders.total", "v.total"),
                               ("customers.id", "v.id"), ("orders.customer_id", "v.customer_id")}


def test_a_parenthesised_join_expands_star_and_attributes_bare_columns_with_a_schema():
    result = sql_lineage("CREATE VIEW v AS SELECT name, total FROM (customers c JOIN orders o "
                         "ON c.id = o.customer_id)", dialect="postgres",
                         schema={"customers": ["id", "name"], "orders": ["customer_id", "total"]})
    assert columns(result) == {("customers.name", "v.name"), ("orders.total", "v.total")}


def test_a_mysql_view_definition_as_mysql_stores_it():
    result = sql_lineage(
        "CREATE VIEW `shop`.`v` AS select `c`.`id` AS `id`,`o`.`total` AS `order_total`,`p`.`amount` AS `paid` "
        "from ((`shop`.`customers` `c` join `shop`.`orders` `o` on((`c`.`id` = `o`.`customer_id`))) "
        "left join `shop`.`payments` `p` on((`p`.`order_id` = `o`.`id`)))", dialect="mysql")
    assert result.table_edges == {("shop.customers", "shop.v"), ("shop.orders", "shop.v"),
                                  ("shop.payments", "shop.v")}
    assert direct(result) == {("shop.customers.id", "shop.v.id"): True,
                              ("shop.orders.total", "shop.v.order_total"): True,
                              ("shop.payments.amount", "shop.v.paid"): True}


def test_insert_without_column_list_takes_the_known_target_columns_by_position():
    result = sql_lineage("INSERT INTO t SELECT x, y FROM s", dialect="postgres", schema={"t": ["a", "b"]})
    assert columns(result) == {("s.x", "t.a"), ("s.y", "t.b")}


def test_bigquery_star_except_and_unnest():
    result = sql_lineage("""
        CREATE TABLE ds.t AS SELECT * EXCEPT (secret) FROM ds.s;
        CREATE TABLE ds.u AS SELECT o.id, item FROM ds.orders o, UNNEST(o.items) AS item;""",
                         dialect="bigquery", schema={"ds.s": ["id", "secret", "v"]})
    assert columns(result) == {("ds.s.id", "ds.t.id"), ("ds.s.v", "ds.t.v"), ("ds.orders.id", "ds.u.id"),
                               ("ds.orders.items", "ds.u.item")}


def test_hive_lateral_view_explode_and_insert_overwrite():
    result = sql_lineage("INSERT OVERWRITE TABLE db.t PARTITION (dt='2024-01-01') SELECT s.id, tag "
                         "FROM db.s s LATERAL VIEW explode(s.tags) x AS tag", dialect="hive")
    assert result.table_edges == {("db.s", "db.t")}
    assert columns(result) == {("db.s.id", "db.t.id"), ("db.s.tags", "db.t.tag")}


# --- writes ----------------------------------------------------------------------------------------------------

def test_merge_update_and_insert_branches():
    result = sql_lineage("""
        MERGE INTO dim_customer d USING staging s ON d.id = s.id
        WHEN MATCHED THEN UPDATE SET d.email = s.email, d.visits = d.visits + s.visits
        WHEN NOT MATCHED THEN INSERT (id, email, visits) VALUES (s.id, LOWER(s.email), s.visits)""",
                         dialect="snowflake")
    assert result.statements[0].kind == "merge"
    assert result.table_edges == {("staging", "dim_customer")}
    assert columns(result) == {("staging.email", "dim_customer.email"), ("staging.visits", "dim_customer.visits"),
                               ("staging.id", "dim_customer.id")}


def test_update_from_and_mysql_update_join():
    postgres = sql_lineage("UPDATE t SET total = s.amount * 2, n = n + 1 FROM s WHERE t.id = s.id",
                           dialect="postgres")
    assert postgres.table_edges == {("s", "t")}
    assert columns(postgres) == {("s.amount", "t.total")}
    mysql = sql_lineage("UPDATE t JOIN s ON t.id = s.id SET t.name = s.name", dialect="mysql")
    assert columns(mysql) == {("s.name", "t.name")}


def test_tsql_update_through_an_alias_in_from():
    result = sql_lineage("UPDATE o SET o.status = s.status FROM dbo.orders o JOIN dbo.shipments s ON s.oid = o.id",
                         dialect="tsql")
    assert result.statements[0].target == ("dbo.orders",)
    assert columns(result) == {("dbo.shipments.status", "dbo.orders.status")}


def test_view_column_list_names_the_outputs():
    result = sql_lineage("CREATE MATERIALIZED VIEW v (x, y) AS SELECT a, b + 1 FROM s", dialect="postgres")
    assert result.statements[0].kind == "create_view"
    assert columns(result) == {("s.a", "v.x"), ("s.b", "v.y")}


# --- scripts and temporary tables --------------------------------------------------------------------------------

def test_tsql_temp_table_is_collapsed_and_statements_need_no_semicolons():
    result = sql_lineage("SELECT id, amount INTO #big FROM dbo.orders WHERE amount > 100\n"
                         "INSERT INTO dbo.report (id, amount) SELECT id, amount FROM #big\nDROP TABLE #big",
                         dialect="tsql")
    assert [s.kind for s in result.statements] == ["create_table_as", "insert", "drop"]
    assert result.table_edges == {("dbo.orders", "dbo.report")}
    assert columns(result) == {("dbo.orders.id", "dbo.report.id"), ("dbo.orders.amount", "dbo.report.amount")}


def test_a_table_created_then_dropped_is_collapsed_a_persistent_one_stays():
    result = sql_lineage("""
        CREATE TABLE stage AS SELECT a FROM src;
        CREATE TABLE keep AS SELECT a FROM stage;
        INSERT INTO final SELECT a FROM keep;
        DROP TABLE stage;""", dialect="duckdb")
    assert result.table_edges == {("src", "keep"), ("keep", "final")}


def test_declare_global_temporary_table_is_temporary():
    result = sql_lineage("""
        DECLARE GLOBAL TEMPORARY TABLE session.tmp (a INT);
        INSERT INTO session.tmp SELECT a FROM src;
        INSERT INTO dst SELECT a FROM session.tmp;""", dialect="postgres")
    assert result.table_edges == {("src", "dst")}


def test_temp_table_of_bigquery_scripting_block():
    result = sql_lineage("""
        DECLARE d DATE DEFAULT CURRENT_DATE();
        BEGIN
          CREATE TEMP TABLE recent AS SELECT id, ts FROM ds.events WHERE DATE(ts) = d;
          IF (SELECT COUNT(*) FROM recent) > 0 THEN
            INSERT INTO ds.daily (id, ts) SELECT id, ts FROM recent;
          END IF;
        END;""", dialect="bigquery")
    assert result.table_edges == {("ds.events", "ds.daily")}
    assert columns(result) == {("ds.events.id", "ds.daily.id"), ("ds.events.ts", "ds.daily.ts")}


# --- procedure bodies ------------------------------------------------------------------------------------------

def test_plpgsql_function_body_with_control_flow():
    result = sql_lineage("""
        CREATE OR REPLACE FUNCTION refresh() RETURNS void LANGUAGE plpgsql AS $$
        DECLARE n int;
        BEGIN
          CREATE TEMP TABLE tt AS SELECT id, name FROM src;
          SELECT count(*) INTO n FROM tt;
          IF n > 0 THEN
            INSERT INTO dst (id, label) SELECT id, upper(name) FROM tt;
          ELSE
            RAISE NOTICE 'empty';
          END IF;
        END; $$;""", dialect="postgres")
    assert result.statements[0].kind == "procedure"
    assert result.statements[0].target == ("dst",)
    assert result.table_edges == {("src", "dst")}
    assert columns(result) == {("src.id", "dst.id"), ("src.name", "dst.label")}


def test_mysql_procedure_with_delimiter():
    result = sql_lineage("""DELIMITER //
CREATE PROCEDURE p()
BEGIN
  DECLARE done INT DEFAULT 0;
  INSERT INTO t (a) SELECT a FROM s;
  WHILE done = 0 DO
    UPDATE t SET b = (SELECT MAX(v) FROM q);
    SET done = 1;
  END WHILE;
END //
DELIMITER ;
INSERT INTO u SELECT a FROM t;""", dialect="mysql")
    assert [s.kind for s in result.statements] == ["procedure", "insert"]
    assert result.statements[1].line == 12
    assert result.table_edges == {("s", "t"), ("q", "t"), ("t", "u")}


def test_tsql_procedure_with_temp_table_and_batches():
    result = sql_lineage("""CREATE PROCEDURE dbo.load @since DATE AS
BEGIN
  SET NOCOUNT ON
  SELECT id, total INTO #recent FROM dbo.orders WHERE created >= @since
  IF @@ROWCOUNT > 0
    INSERT INTO dbo.recent_orders (id, total) SELECT id, total FROM #recent
END
GO
EXEC dbo.load '2024-01-01'""", dialect="tsql")
    assert result.statements[0].kind == "procedure"
    assert result.table_edges == {("dbo.orders", "dbo.recent_orders")}


def test_oracle_procedure_with_declarations():
    result = sql_lineage("""CREATE OR REPLACE PROCEDURE load_sales IS
  v_count NUMBER;
BEGIN
  INSERT INTO sales_summary (region, total) SELECT region, SUM(amount) FROM sales GROUP BY region;
  COMMIT;
END load_sales;
/""", dialect="oracle")
    assert result.table_edges == {("sales", "sales_summary")}
    assert columns(result) == {("sales.region", "sales_summary.region"), ("sales.amount", "sales_summary.total")}


def test_sqlite_trigger_reads_new_row_from_its_table():
    result = sql_lineage("""CREATE TRIGGER audit AFTER INSERT ON orders
BEGIN
  INSERT INTO order_log (order_id, amount) VALUES (NEW.id, NEW.amount);
END;""", dialect="sqlite")
    assert result.table_edges == {("orders", "order_log")}
    assert columns(result) == {("orders.id", "order_log.order_id"), ("orders.amount", "order_log.amount")}


def test_an_error_inside_a_procedure_body_is_reported_with_its_line():
    result = sql_lineage("CREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t SELECT a FROM s;\n  INSERT INTO (;\nEND;",
                         dialect="mysql")
    assert result.table_edges == {("s", "t")}
    assert [(e.index, e.line) for e in result.errors] == [(0, 4)]


def test_tsql_table_variable_collapses_like_a_temp_table():
    result = sql_lineage("DECLARE @top TABLE (id INT);\nINSERT INTO @top (id) SELECT id FROM dbo.s;\n"
                         "INSERT INTO dbo.t (id) SELECT id FROM @top;", dialect="tsql")
    assert result.table_edges == {("dbo.s", "dbo.t")}


def test_mysql_replace_into_is_an_insert():
    result = sql_lineage("REPLACE INTO t (a) SELECT x FROM s", dialect="mysql")
    assert columns(result) == {("s.x", "t.a")}


def test_merge_insert_values_without_column_list_takes_the_known_target_columns():
    result = sql_lineage("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)",
                         dialect="redshift", schema={"t": ["id", "value"]})
    assert columns(result) == {("s.id", "t.id"), ("s.v", "t.value")}


def test_spark_cache_table_is_temporary():
    result = sql_lineage("CACHE TABLE c AS SELECT a FROM s;\nINSERT INTO t SELECT a FROM c;\nUNCACHE TABLE c;",
                         dialect="spark")
    assert result.table_edges == {("s", "t")}


# --- session 21: shapes the held-out suite may hold -------------------------------------------------------------

def test_a_derived_table_with_its_own_join_is_a_query_not_a_parenthesised_join():
    """(SELECT a.x, b.y FROM a JOIN b …) s was read as the join (a JOIN b): s.y then took every column of a and b."""
    result = sql_lineage("INSERT INTO t (p, q) SELECT s.x, s.y FROM (SELECT a.x, b.y FROM a JOIN b ON a.id = b.id) s",
                         dialect="postgres")
    assert direct(result) == {("a.x", "t.p"): True, ("b.y", "t.q"): True}


def test_an_aggregate_filter_feeds_its_value_as_a_case_inside_it_would():
    """sum(v) FILTER (WHERE kind = 'y') is sum(CASE WHEN kind = 'y' THEN v END): kind decides the value."""
    result = sql_lineage("INSERT INTO t (id, c, total) SELECT id, count(*) FILTER (WHERE kind = 'x'), "
                         "sum(v) FILTER (WHERE kind = 'y') FROM s GROUP BY id", dialect="postgres")
    assert columns(result) == {("s.id", "t.id"), ("s.kind", "t.c"), ("s.kind", "t.total"), ("s.v", "t.total")}


def test_struct_paths_read_the_column_they_start_at():
    schema = {"d.contacts": ["id", "profile"]}
    result = sql_lineage("INSERT INTO d.t (a, b, c) SELECT c.profile.address.city, profile.address.zip, "
                         "d.contacts.id FROM d.contacts AS c", dialect="bigquery", schema=schema)
    assert columns(result) == {("d.contacts.profile", "d.t.a"), ("d.contacts.profile", "d.t.b"),
                               ("d.contacts.id", "d.t.c")}


def test_duckdb_columns_regex_and_star():
    schema = {"s": ["id", "amount_a", "amount_b"]}
    result = sql_lineage("CREATE TABLE t AS SELECT COLUMNS('^amount') FROM s", dialect="duckdb", schema=schema)
    assert direct(result) == {("s.amount_a", "t.amount_a"): True, ("s.amount_b", "t.amount_b"): True}
    result = sql_lineage("INSERT INTO t (a, b, c) SELECT COLUMNS(*) + 1 FROM s", dialect="duckdb", schema=schema)
    assert direct(result) == {("s.id", "t.a"): False, ("s.amount_a", "t.b"): False, ("s.amount_b", "t.c"): False}


def test_create_table_like_names_columns_and_moves_no_data():
    schema = {"public.orders": ["id", "total"]}
    result = sql_lineage("CREATE TABLE o2 (LIKE public.orders, note text); INSERT INTO o2 SELECT a, b, c FROM s",
                         dialect="postgres", default_schema="public", schema=schema)
    assert result.table_edges == {("public.s", "public.o2")}
    assert columns(result) == {("public.s.a", "public.o2.id"), ("public.s.b", "public.o2.total"),
                               ("public.s.c", "public.o2.note")}


def test_tsql_output_into_a_table_variable_collapses_into_the_end_to_end_flow():
    result = sql_lineage("DELETE FROM dbo.queue OUTPUT deleted.id, deleted.body INTO @taken (id, body) "
                         "WHERE state = 'new';\nINSERT INTO dbo.work (id, payload) SELECT id, body FROM @taken;",
                         dialect="tsql", default_schema="dbo")
    assert result.errors == []
    assert result.table_edges == {("dbo.queue", "dbo.work")}
    assert direct(result) == {("dbo.queue.id", "dbo.work.id"): True, ("dbo.queue.body", "dbo.work.payload"): True}


def test_tsql_insert_output_inserted_reads_what_was_inserted():
    result = sql_lineage("INSERT INTO dbo.t (a) OUTPUT inserted.a INTO dbo.log (a) SELECT x FROM dbo.s",
                         dialect="tsql")
    assert result.table_edges == {("dbo.s", "dbo.t"), ("dbo.s", "dbo.log")}
    assert columns(result) == {("dbo.s.x", "dbo.t.a"), ("dbo.s.x", "dbo.log.a")}


def test_postgres_returning_into_a_variable_is_no_table():
    result = sql_lineage("CREATE FUNCTION f() RETURNS void AS $$ DECLARE v int; BEGIN "
                         "INSERT INTO t (a) SELECT x FROM s RETURNING a INTO v; END $$ LANGUAGE plpgsql;",
                         dialect="postgres")
    assert result.table_edges == {("s", "t")}


# --- limits ----------------------------------------------------------------------------------------------------

SLOW = "INSERT INTO slow (a) SELECT x FROM s WHERE " + " OR ".join(f"(a = {i} AND b = {i})" for i in range(6000))


def test_more_statements_than_the_cap_are_refused_before_any_is_read():
    from catalog.lineage.sql import TooManyStatements

    with pytest.raises(TooManyStatements, match="holds 3 statements; at most 2"):
        sql_lineage("INSERT INTO t SELECT 1; INSERT INTO t SELECT 2; INSERT INTO t SELECT 3;", dialect="postgres",
                    max_statements=2)
    assert sql_lineage("INSERT INTO t SELECT x FROM s;", dialect="postgres", max_statements=1).table_edges


def test_a_statement_over_its_time_budget_is_reported_and_the_rest_are_read():
    result = sql_lineage(f"INSERT INTO a (x) SELECT x FROM s;\n{SLOW};\nINSERT INTO b (y) SELECT y FROM r;",
                         dialect="postgres", statement_seconds=0.5)
    assert result.table_edges == {("s", "a"), ("r", "b")}
    assert [(error.index, error.line) for error in result.errors] == [(1, 2)]
    assert "took too long to read (over 0.5 s)" in result.errors[0].reason
    assert result.statements[1].error == result.errors[0].reason


def test_the_script_budget_leaves_the_statements_after_it_unread(monkeypatch):
    from catalog.lineage import sql as engine
    from catalog.lineage.dialects import lineage_dialect

    script = f"{SLOW};\nINSERT INTO b (y) SELECT y FROM r;"
    # Cut beforehand: the budget is then all the statements' (cutting a long script takes long on a busy machine).
    pieces = engine.script_pieces(script, lineage_dialect("postgres"), "postgres")
    monkeypatch.setattr(engine, "script_pieces", lambda *args: pieces)
    result = sql_lineage(script, dialect="postgres", script_seconds=0.5)
    assert result.table_edges == frozenset()
    assert "took too long" in result.errors[0].reason
    assert "the script's 0.5 s were spent" in result.errors[1].reason


def test_a_budget_that_did_not_run_out_leaves_nothing_behind():
    import time

    from catalog.lineage.budget import time_budget

    for _ in range(50):
        sql_lineage("INSERT INTO t (a) SELECT x FROM s", dialect="postgres", statement_seconds=0.05)
    time.sleep(0.2)  # a late exception would land here
    with time_budget(5):
        assert sql_lineage("INSERT INTO t (a) SELECT x FROM s", dialect="tsql").table_edges == {("s", "t")}
