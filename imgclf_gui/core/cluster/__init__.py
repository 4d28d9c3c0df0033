"""More images than one machine: extraction and classification on a Dask cluster, one writer here.

Entry points: ``connection.connect(address)`` (a scheduler, or ``local:N``) -> ``ClusterSession``;
``bottlenecks.extract_on_cluster`` (the project's cache); ``scoring.score_on_cluster`` (rows in order).
Nothing here imports Dask until a session opens; workers run ``remote`` (see docs/SCALING.md).
"""
