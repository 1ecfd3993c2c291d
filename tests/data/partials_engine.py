"""Run a `fairaudit sql` partials query in another engine and save its result as Parquet.

Used by tests/it/partials.rs (issue 8): the engine's table, audited with
`fairaudit run --partials`, must give the embedded engine's report. The engines are
independent implementations of the same GROUP BY GROUPING SETS: DuckDB 2.0 and Apache
DataFusion 55 (PyPI `duckdb`, `datafusion`; scripts/pyenv installs them into target/pyenv).

    target/pyenv/bin/python tests/data/partials_engine.py duckdb|datafusion DATA QUERY.sql OUT.parquet

DATA (CSV or Parquet) is registered as the table `predictions`. DuckDB writes CSV when OUT
ends in .csv. The stored reference tests/data/compas_partials_duckdb.csv was made from the
repository root with:

    target/debug/fairaudit sql --dialect duckdb audits/compas.toml > /tmp/q.sql
    target/pyenv/bin/python tests/data/partials_engine.py duckdb \
        ../shared/data/compas.parquet /tmp/q.sql tests/data/compas_partials_duckdb.csv
"""

import sys


def duckdb_run(data, query, out):
    import duckdb

    con = duckdb.connect()
    reader = "read_parquet" if data.endswith((".parquet", ".pq")) else "read_csv_auto"
    quoted = data.replace("'", "''")
    con.execute(f"CREATE VIEW predictions AS SELECT * FROM {reader}('{quoted}')")
    fmt = "CSV, HEADER" if out.endswith(".csv") else "PARQUET"
    con.execute(f"COPY ({query.rstrip().rstrip(';')}) TO '{out}' (FORMAT {fmt})")


def datafusion_run(data, query, out):
    import datafusion

    ctx = datafusion.SessionContext()
    if data.endswith((".parquet", ".pq")):
        ctx.register_parquet("predictions", data)
    else:
        ctx.register_csv("predictions", data)
    ctx.sql(query).write_parquet(out)


def main():
    engine, data, query_file, out = sys.argv[1:5]
    with open(query_file, encoding="utf-8") as f:
        query = f.read()
    {"duckdb": duckdb_run, "datafusion": datafusion_run}[engine](data, query, out)


if __name__ == "__main__":
    main()
