"""Extract -> transform -> load, passing data between tasks through XCom.

A small, deterministic example from the team's notes: extract yields orders,
transform totals them per customer, load reports what it would write. Each
task's return value is stored as an XCom and handed to the next task.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="etl",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example"],
)
def etl():
    @task
    def extract() -> list[dict]:
        orders = [
            {"order_id": 1, "customer": "kim", "amount": 120},
            {"order_id": 2, "customer": "lee", "amount": 80},
            {"order_id": 3, "customer": "kim", "amount": 30},
        ]
        print(f"extracted {len(orders)} orders")
        return orders

    @task
    def transform(orders: list[dict]) -> dict[str, int]:
        totals: dict[str, int] = {}
        for order in orders:
            totals[order["customer"]] = totals.get(order["customer"], 0) + order["amount"]
        totals = dict(sorted(totals.items()))
        print(f"transformed into totals {totals}")
        return totals

    @task
    def load(totals: dict[str, int]) -> str:
        summary = ", ".join(f"{name}={amount}" for name, amount in totals.items())
        print(f"loading totals: {summary}")
        return f"loaded {len(totals)} customers: {summary}"

    load(transform(extract()))


etl()
