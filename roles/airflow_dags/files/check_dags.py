# Loads every DAG file in a folder as Airflow's DAG processor would and exits
# non-zero, printing the errors, if any file fails to import or no DAG is found.
import sys

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
for path, err in sorted(bag.import_errors.items()):
    print(f"IMPORT ERROR in {path}:\n{err}")
print(f"DAGs found: {', '.join(sorted(bag.dag_ids)) or 'none'}")
sys.exit(1 if bag.import_errors or not bag.dag_ids else 0)
